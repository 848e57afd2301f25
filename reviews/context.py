"""Template context for every page: how many versions wait for the signed-in user's
review, for the top navigation. Lazy: a page that does not show it (an htmx partial)
runs no query for it."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from reviews.my_reviews import waiting_count


def reviews(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"reviews_waiting": 0}
    return {"reviews_waiting": SimpleLazyObject(lambda: waiting_count(user))}
