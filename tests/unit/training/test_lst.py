"""`.lst` files: written and read back, and a malformed line named by file and number."""

import pytest

from training.common.lst import LstEntry, MalformedLst, format_lst, parse_lst, read_lst


def test_written_entries_read_back(tmp_path):
    entries = [LstEntry(0, 1, "motorcycle_s_000001.png"), LstEntry(1, 0, "bicycle_s_000002.png")]
    path = tmp_path / "train.lst"
    path.write_text(format_lst(entries))
    assert path.read_text() == "0\t1\tmotorcycle_s_000001.png\n1\t0\tbicycle_s_000002.png\n"
    assert read_lst(path) == entries


def test_blank_lines_are_ignored():
    assert parse_lst("\n0\t0\ta.png\n\n") == [LstEntry(0, 0, "a.png")]


def test_read_lst_names_the_malformed_line(tmp_path):
    lst = tmp_path / "train.lst"
    lst.write_text("0\t1\tmotorcycle_s_000001.png\n1 0 bicycle_s_000002.png\n")
    with pytest.raises(MalformedLst, match=r"train\.lst:2"):
        read_lst(lst)
