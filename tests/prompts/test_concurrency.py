"""Version numbers stay contiguous with many writers at once."""

import threading

import pytest
from django.db import close_old_connections, connection

from prompts import services
from prompts.models import Version

WRITERS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_writers_at_once_get_numbers_one_to_twenty_one(people, prompt):
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            barrier.wait()
            services.add_version(people["ed"], prompt, template=f"writer {i} {{{{ x }}}}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(Version.objects.filter(prompt=prompt).values_list("number", flat=True))
    assert numbers == list(range(1, WRITERS + 2))
    prompt.refresh_from_db()
    assert prompt.latest_version.number == WRITERS + 1
