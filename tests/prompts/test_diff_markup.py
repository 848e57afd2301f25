"""The compare page's diff rows, written in Python: layout, escaping, threads per side."""

from prompts.diff_markup import diff_view, side_by_side
from prompts.diffing import diff_lines

OLD = "keep\n<b>old</b> & 'x'\nsame\ngone"
NEW = 'keep\n<b>new</b> & "y"\nsame'


def rows_of(html):
    return html.split('<div class="line')[1:]


def test_split_rows_pair_removed_with_added_lines_and_blank_the_rest():
    lines = diff_lines(OLD, NEW)
    pairs = side_by_side(lines)
    assert [(o and o["op"], n and n["op"]) for o, n in pairs] == [
        ("equal", "equal"),
        ("remove", "add"),
        ("equal", "equal"),
        ("remove", None),
    ]
    view = diff_view(lines, "split")
    assert view.layout == "split" and view.changed
    rows = rows_of(view.html)
    assert len(rows) == 4
    assert '<span class="num blank" role="cell"></span>' in rows[3]
    assert '<span class="num remove" role="cell">4</span>' in rows[3]


def test_every_text_is_escaped_and_changed_words_are_marked():
    view = diff_view(diff_lines(OLD, NEW), "split")
    assert "<b>" not in view.html
    assert "&lt;b&gt;" in view.html
    assert "&amp;" in view.html and "&#x27;x&#x27;" in view.html and "&quot;y&quot;" in view.html
    assert "<del>" in view.html and "<ins>" in view.html
    assert '<span class="visually-hidden">removed: </span>' in view.html


def test_unified_rows_carry_both_line_numbers():
    view = diff_view(diff_lines(OLD, NEW), "unified")
    rows = rows_of(view.html)
    assert rows[0].startswith(' equal" role="row"><span class="num" role="cell">1</span>'
                              '<span class="num" role="cell">1</span>')  # fmt: skip
    assert rows[-1].startswith(' remove" role="row"><span class="num" role="cell">4</span>'
                               '<span class="num" role="cell"></span>')  # fmt: skip


def note(title, href="/p/t/s/v/1/#comment-1", count=2, resolved=False):
    return {"title": title, "href": href, "count": count, "resolved": resolved}


def test_threads_sit_beside_their_own_sides_line_escaped():
    hostile = note('"><script>alert(1)</script>', resolved=True)
    before = {4: [hostile]}  # old line 4 ("gone")
    after = {1: [note("on new line 1", href="/p/t/s/v/2/#comment-9")]}
    for layout in ("split", "unified"):
        rows = rows_of(diff_view(diff_lines(OLD, NEW), layout, before, after).html)
        [gone] = [row for row in rows if "gone" in row]
        others = [row for row in rows if row is not gone]
        assert 'href="/p/t/s/v/2/#comment-9"' in rows[0]
        assert "<script>" not in gone and "&lt;script&gt;" in gone
        assert 'class="line-note resolved"' in gone
        assert "#comment-9" not in "".join(rows[1:]) and "script" not in "".join(others)


def test_equal_texts_are_unchanged():
    view = diff_view(diff_lines("a\nb", "a\nb"), "unified")
    assert not view.changed and len(rows_of(view.html)) == 2
