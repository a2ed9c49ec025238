"""The static shell reader: words, comments and commands, with quotes nested in substitutions."""

from __future__ import annotations

import pytest

from claudex_doctor.base.shellscan import blank_comments, segments, word_end


@pytest.mark.parametrize("text, word", [
    ('"$(x "y z")" rest', '"$(x "y z")"'),
    ('"${A:-"b c"}" z', '"${A:-"b c"}"'),
    ("'a b' c", "'a b'"),
    ("a\\ b c", "a\\ b"),
    ('`echo "a b"` c', '`echo "a b"`'),
    ("plain;next", "plain"),
])
def test_words_with_nested_quotes_stay_whole(text, word):
    assert text[:word_end(text)] == word


def test_commands_split_at_operators_outside_quotes():
    assert [s.words for s in segments('cd "$(dirname "$0")" && exec ./x')] == [
        ["cd", '"$(dirname "$0")"'], ["exec", "./x"]]


def test_only_real_comments_are_blanked():
    text = 'X="$(echo "a # b")"; exec x # a comment\necho \'# not one\' #one\n'
    blanked = blank_comments(text)
    assert len(blanked) == len(text) and blanked.count("\n") == 2
    assert 'X="$(echo "a # b")"; exec x ' in blanked and "a comment" not in blanked
    assert "'# not one'" in blanked and "#one" not in blanked
