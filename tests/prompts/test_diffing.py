"""Diffing versions: lines with numbers, word highlights, variables, config, chat, speed."""

import random
import time

from prompts import services
from prompts.diffing import compare, diff_lines, lines_of, text_of


def ops(diff):
    return [
        (line["op"], line["old_line"], line["new_line"], line["text"]) for line in diff["template"]
    ]


def words_text(words):
    return "".join(text for _, text in words)


def test_equal_removed_and_added_lines_carry_their_line_numbers(people, prompt):
    old = services.add_version(people["ed"], prompt, template="alpha\nbeta\ngamma\n")
    new = services.add_version(people["ed"], prompt, template="alpha\ngamma\ndelta")
    diff = compare(old, new)
    assert (diff["from"], diff["to"]) == (2, 3)
    assert ops(diff) == [
        ("equal", 1, 1, "alpha"),
        ("remove", 2, None, "beta"),
        ("equal", 3, 2, "gamma"),
        ("add", None, 3, "delta"),
    ]
    assert all(line["words"] is None for line in diff["template"])


def test_a_changed_line_gets_word_highlights(people, prompt):
    old = prompt.latest_version  # "Classify: {{ ticket_text }} for {{ product }}"
    new = services.add_version(
        people["ed"], prompt, template="Classify: {{ ticket_text }} for {{ brand }}"
    )
    removed, added = compare(old, new)["template"]
    assert (removed["op"], removed["old_line"], added["op"], added["new_line"]) == (
        "remove",
        1,
        "add",
        1,
    )
    assert removed["words"] == [
        ["equal", "Classify: {{ ticket_text }} for {{ "],
        ["remove", "product"],
        ["equal", " }}"],
    ]
    assert added["words"] == [
        ["equal", "Classify: {{ ticket_text }} for {{ "],
        ["add", "brand"],
        ["equal", " }}"],
    ]


def test_an_insertion_inside_a_line_is_one_added_run(people, prompt):
    old = prompt.latest_version
    new = services.add_version(
        people["ed"], prompt, template="Classify: {{ ticket_text }} quickly for {{ product }}"
    )
    removed, added = compare(old, new)["template"]
    assert removed["words"] == [["equal", old.template]]
    assert added["words"] == [
        ["equal", "Classify: {{ ticket_text }} "],
        ["add", "quickly "],
        ["equal", "for {{ product }}"],
    ]


def test_words_rebuild_their_line_and_unrelated_lines_get_none(people, prompt):
    old = services.add_version(
        people["ed"], prompt, template=("Hello there\nSort the ticket by urgency and topic\nkeep")
    )
    new = services.add_version(
        people["ed"],
        prompt,
        template=(
            "Completely different words in this place\nSort each ticket by topic and urgency\nkeep"
        ),
    )
    changed = [line for line in compare(old, new)["template"] if line["op"] != "equal"]
    by_text = {line["text"]: line["words"] for line in changed}
    # Paired by place in the block: "Hello there" with the first added line, too unlike it.
    assert by_text["Hello there"] is None
    assert by_text["Completely different words in this place"] is None
    for line in changed:
        if line["words"] is not None:
            assert words_text(line["words"]) == line["text"]
            allowed = {"equal", "remove"} if line["op"] == "remove" else {"equal", "add"}
            assert {op for op, _ in line["words"]} <= allowed
    assert by_text["Sort each ticket by topic and urgency"] is not None


def test_variables_added_removed_and_changed(people, prompt):
    old = services.add_version(
        people["ed"],
        prompt,
        template="{{ ticket_text }} {{ product }} {{ tone }} {{ lang }}",
        variables=[
            {"name": "product", "default": "Acme"},
            {"name": "lang", "description": "Language"},
        ],
    )
    new = services.add_version(
        people["ed"],
        prompt,
        template="{{ ticket_text }} {{ product }} {{ lang }} {{ team }}",
        variables=[
            {"name": "product", "default": "Globex"},
            {"name": "lang", "description": "Language"},
            {"name": "ticket_text", "description": "The ticket"},
        ],
    )
    variables = compare(old, new)["variables"]
    assert variables["added"] == ["team"]
    assert variables["removed"] == ["tone"]
    assert variables["changed"] == [
        {
            "name": "product",
            "from": {"description": "", "default": "Acme", "required": False},
            "to": {"description": "", "default": "Globex", "required": False},
        },
        {
            "name": "ticket_text",
            "from": {"description": "", "default": None, "required": True},
            "to": {"description": "The ticket", "default": None, "required": True},
        },
    ]


def test_config_added_removed_and_changed_at_top_level(people, prompt):
    old = services.add_version(
        people["ed"],
        prompt,
        template="x",
        config={
            "model": "gpt-4o",
            "temperature": 0.2,
            "stop": ["###"],
            "stream": 1,
            "tools": {"a": 1},
        },
    )
    new = services.add_version(
        people["ed"],
        prompt,
        template="x",
        config={
            "model": "gpt-4o",
            "temperature": 0.7,
            "max_tokens": 100,
            "stream": True,
            "tools": {"a": 2},
        },
    )
    config = compare(old, new)["config"]
    assert config == {
        "added": {"max_tokens": 100},
        "removed": {"stop": ["###"]},
        "changed": {
            "stream": {"from": 1, "to": True},  # 1 == True in Python, not in JSON
            "temperature": {"from": 0.2, "to": 0.7},
            "tools": {"from": {"a": 1}, "to": {"a": 2}},
        },
    }


def test_identical_versions_differ_in_nothing(people, prompt):
    first = prompt.latest_version
    same = services.add_version(
        people["ed"],
        prompt,
        template=first.template,
        variables=[{"name": "product", "default": "Acme"}],
    )
    diff = compare(first, same)
    assert [line["op"] for line in diff["template"]] == ["equal"]
    assert diff["variables"] == {"added": [], "removed": [], "changed": []}
    assert diff["config"] == {"added": {}, "removed": {}, "changed": {}}


def test_chat_versions_diff_their_messages_as_text(people, prompt):
    old = services.add_version(
        people["ed"],
        prompt,
        messages=[
            {"role": "system", "content": "You sort tickets.\nBe brief."},
            {"role": "user", "content": "{{ ticket_text }}"},
        ],
    )
    new = services.add_version(
        people["ed"],
        prompt,
        messages=[
            {"role": "system", "content": "You sort tickets.\nBe very brief."},
            {"role": "user", "content": "{{ ticket_text }}"},
            {"role": "assistant", "content": "Category:"},
        ],
    )
    assert text_of(old) == "[system]\nYou sort tickets.\nBe brief.\n[user]\n{{ ticket_text }}"
    diff = compare(old, new)
    assert ops(diff) == [
        ("equal", 1, 1, "[system]"),
        ("equal", 2, 2, "You sort tickets."),
        ("remove", 3, None, "Be brief."),
        ("add", None, 3, "Be very brief."),
        ("equal", 4, 4, "[user]"),
        ("equal", 5, 5, "{{ ticket_text }}"),
        ("add", None, 6, "[assistant]"),
        ("add", None, 7, "Category:"),
    ]
    assert diff["template"][3]["words"] == [["equal", "Be "], ["add", "very "], ["equal", "brief."]]


def test_a_text_version_compares_with_a_chat_version(people, prompt):
    text = prompt.latest_version
    chat = services.add_version(
        people["ed"], prompt, messages=[{"role": "user", "content": text.template}]
    )
    assert ops(compare(text, chat)) == [("add", None, 1, "[user]"), ("equal", 1, 2, text.template)]


def test_lines_are_numbered_as_an_editor_does():
    assert lines_of("") == []
    assert lines_of("a\n") == ["a"]
    assert lines_of("a\r\nb\n\n") == ["a", "b", ""]


def big_template(seed: int, changed_every: int = 0) -> str:
    rng = random.Random(seed)
    topics = ["billing", "refunds", "login", "shipping", "warranty", "privacy", "upgrades"]
    lines = []
    for i in range(700):
        line = (
            f"{i}. When the ticket is about {rng.choice(topics)}, answer about "
            f"{{{{ product }}}} politely and in {{{{ lang }}}}."
        )
        if changed_every and i % changed_every == 0:
            line = line.replace("politely", "briefly and kindly")
        lines.append(line)
    return "\n".join(lines)


def test_two_50_kb_templates_compare_well_under_a_second(people, prompt):
    old_text, new_text = big_template(1), big_template(1, changed_every=7)
    assert len(old_text) > 50_000 and len(new_text) > 50_000
    old = services.add_version(people["ed"], prompt, template=old_text)
    new = services.add_version(people["ed"], prompt, template=new_text)
    started = time.perf_counter()
    diff = compare(old, new)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, elapsed
    changed = [line for line in diff["template"] if line["op"] != "equal"]
    assert len(changed) == 2 * 100
    assert all(line["words"] is not None for line in changed)


def test_pathological_repetitive_input_stays_fast():
    # Short lines drawn from a few hundred values: the worst case for SequenceMatcher.
    rng = random.Random(3)
    old = "\n".join(str(rng.randrange(150)) for _ in range(15_000))
    new = "\n".join(str(rng.randrange(150)) for _ in range(15_000))
    # CPU time, not the wall clock: a busy machine (a CI run beside other work) must not
    # fail a bound on the algorithm's own work.
    started = time.process_time()
    diff = diff_lines(old, new)
    assert time.process_time() - started < 1.0
    assert [line["text"] for line in diff if line["op"] != "add"] == old.split("\n")
    assert [line["text"] for line in diff if line["op"] != "remove"] == new.split("\n")


def test_word_highlights_are_skipped_when_both_texts_are_huge():
    old = "\n".join(f"line {i} says hello" for i in range(5_001))
    new = old.replace("line 7 says hello", "line 7 says goodbye")
    diff = diff_lines(old, new)
    changed = [line for line in diff if line["op"] != "equal"]
    assert [(line["op"], line["old_line"], line["new_line"]) for line in changed] == [
        ("remove", 8, None),
        ("add", None, 8),
    ]
    assert all(line["words"] is None for line in changed)
    shorter = "\n".join(new.split("\n")[:5_000])
    assert any(line["words"] for line in diff_lines(old, shorter))


def test_the_shared_word_bound_never_drops_a_pair_the_matcher_would_highlight():
    # A removed and an added line are one changed line when difflib finds enough words
    # in common; the cheap multiset bound in front of it may only skip pairs it rejects.
    import difflib

    from prompts.diffing import _SPACE, PAIR_MIN_RATIO, _common_ends

    rng = random.Random(11)
    vocabulary = ["a", "b", "c", "d", "e", "f", "{{ x }}", "the", "end."]
    highlighted = 0
    for _ in range(600):
        old = " ".join(rng.choice(vocabulary) for _ in range(rng.randrange(1, 12)))
        new = " ".join(rng.choice(vocabulary) for _ in range(rng.randrange(1, 12)))
        if old == new:
            continue
        a = [t for t in _SPACE.split(old) if t]
        b = [t for t in _SPACE.split(new) if t]
        head, tail = _common_ends(a, b)
        middle = difflib.SequenceMatcher(None, a[head : len(a) - tail], b[head : len(b) - tail])
        same = head + tail + sum(block.size for block in middle.get_matching_blocks())
        expected = 2 * same >= PAIR_MIN_RATIO * (len(a) + len(b))
        removed, added = diff_lines(old, new)
        assert (removed["words"] is not None) == expected, (old, new)
        highlighted += expected
    assert 100 < highlighted < 500  # both outcomes were exercised
