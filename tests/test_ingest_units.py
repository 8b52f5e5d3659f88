"""Unit tests of the ingest building blocks: dates, labels, text, ids, mapping, readers."""

from __future__ import annotations

import codecs

import pandas as pd
import pytest

from analytics.core.errors import InputFileError
from analytics.ingest.dates import infer_time_format, parse_times
from analytics.ingest.ids import mangled_ids
from analytics.ingest.labels import infer_label_scale, normalise_label, normalise_labels
from analytics.ingest.mapping import guess_mapping, parse_mapping_spec, resolve_mapping
from analytics.ingest.readers import detect_delimiter, detect_encoding, iter_chunks
from analytics.ingest.text import clean_text, clean_texts


# -- dates -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["24-02-2015 11.35", "16-02-2015 09.01"], "2015-02-24 11:35:00"),
        (["December 24, 2012", "January 3, 2013"], "2012-12-24 00:00:00"),
        (["2015-02-24T11:35:52-08:00"], "2015-02-24 19:35:52"),
        (["2015-02-24 11:35:52+01:00", "2015-02-24 10:00:00Z"], "2015-02-24 10:35:52"),
        (["1424777752", "1424777000"], "2015-02-24 11:35:52"),
        (["1424777752000"], "2015-02-24 11:35:52"),
        (["Tue Feb 24 11:35:52 +0000 2015"], "2015-02-24 11:35:52"),
        (["02/24/2015 11:35 PM", "02/13/2015 01:00 AM"], "2015-02-24 23:35:00"),
    ],
)
def test_time_formats_are_inferred_and_converted_to_utc(values: list[str], expected: str) -> None:
    fmt = infer_time_format(pd.Series(values))
    assert fmt is not None
    parsed = parse_times(pd.Series(values), fmt.pattern)
    assert str(parsed.iloc[0]) == expected
    assert parsed.dt.tz is None


def test_ambiguous_day_month_order_asks_for_a_format() -> None:
    with pytest.raises(ValueError, match="day-first and month-first"):
        infer_time_format(pd.Series(["03-04-2015", "05-06-2015"]), column="when")


def test_explicit_format_resolves_ambiguity_and_bad_values_become_nat() -> None:
    parsed = parse_times(pd.Series(["03-04-2015", "not a date", ""]), "%m-%d-%Y")
    assert str(parsed.iloc[0]) == "2015-03-04 00:00:00"
    assert parsed.iloc[1:].isna().all()


def test_non_dates_give_no_format() -> None:
    assert infer_time_format(pd.Series(["hello", "world"])) is None


# -- labels ----------------------------------------------------------------------------------
def test_label_words_stars_and_ratings() -> None:
    assert [normalise_label(v) for v in ("Negative", " POS ", "neutral", "mixed")] == [
        "negative", "positive", "neutral", None]
    assert [normalise_label(v, scale="stars") for v in ("1", "2", "3", "4", "5", "6")] == [
        "negative", "negative", "neutral", "positive", "positive", None]
    assert [normalise_label(v, scale="ratings") for v in ("1", "4", "5", "6", "7", "10")] == [
        "negative", "negative", "neutral", "neutral", "positive", "positive"]
    assert [normalise_label(v) for v in ("2/5", "8/10", "4 stars")] == ["negative", "positive", "positive"]
    assert [normalise_label(v, scale="polarity") for v in ("-1", "0", "1")] == ["negative", "neutral", "positive"]


def test_label_scale_is_inferred_from_values() -> None:
    assert infer_label_scale(pd.Series(["1", "3", "5"])) == "stars"
    assert infer_label_scale(pd.Series(["1", "7", "10"])) == "ratings"
    assert infer_label_scale(pd.Series(["-1", "0", "1"])) == "polarity"
    assert infer_label_scale(pd.Series(["0", "1"])) is None  # binary 0/1 is not guessed
    assert infer_label_scale(pd.Series(["negative"])) is None


def test_normalise_labels_separates_empty_from_unknown() -> None:
    labels, unknown = normalise_labels(pd.Series(["positive", "", "irrelevant"]))
    assert labels.tolist()[0] == "positive" and pd.isna(labels.iloc[1]) and pd.isna(labels.iloc[2])
    assert unknown.tolist() == [False, False, True]


# -- text and ids -------------------------------------------------------------------------------
def test_text_cleaning_decodes_entities_and_escapes() -> None:
    raw = pd.Series([r"I\u2019m  here &amp; there\u002c ok", "tab\tand\nnewline  ", r"smile \ud83d\ude00", r"C:\path"])
    cleaned = clean_texts(raw).tolist()
    assert cleaned == ["I’m here & there, ok", "tab and newline", "smile 😀", r"C:\path"]
    assert cleaned == [clean_text(t) for t in raw]


def test_vectorised_cleaning_matches_the_python_reference() -> None:
    raw = ["&amp;lt;3 &lt;b&gt; &quot;q&quot; &#39;s", "AT&T &amp more", "&eacute;t&eacute; &#8217; &#x2019;",
           "plain", "", "I\\u2019m &amp;amp; done"]
    assert clean_texts(pd.Series(raw)).tolist() == [clean_text(t) for t in raw]
    assert clean_text(raw[0]) == "&lt;3 <b> \"q\" 's"  # one level of decoding, like html.unescape


def test_scientific_notation_ids_are_detected() -> None:
    assert mangled_ids(pd.Series(["5.70306E+17", "5,7E17", "570306133677760513", "abc"])).tolist() == [
        True, True, False, False]


# -- mapping -------------------------------------------------------------------------------------
def test_guess_mapping_by_names_and_content() -> None:
    frame = pd.DataFrame(
        {
            "Review ID": ["r1", "r2", "r3"],
            "Company": ["Acme", "Acme", "Globex"],
            "Review Body": ["slow delivery again", "love the app", "support never answered"],
            "Stars": ["1", "5", "2"],
            "Posted At": ["2024-01-02T10:00:00Z", "2024-01-03T11:00:00Z", "2024-01-04T12:00:00Z"],
            "Country": ["DE", "FR", "DE"],
        }
    )
    assert guess_mapping(frame) == {
        "text": "Review Body", "brand": "Company", "time": "Posted At", "label": "Stars",
        "id": "Review ID", "region": "Country",
    }


def test_guess_mapping_rejects_names_whose_content_disagrees_and_finds_text_by_content() -> None:
    frame = pd.DataFrame(
        {
            "date": ["soon", "later", "never"],  # not dates
            "rating": ["great", "bad", "n/a"],  # mostly not labels
            "body_copy": ["this is a long free text", "another long free text here", "and a third one"],
        }
    )
    assert guess_mapping(frame) == {"text": "body_copy"}


def test_mapping_spec_and_overrides() -> None:
    assert parse_mapping_spec("text=body,label=") == {"text": "body", "label": ""}
    with pytest.raises(ValueError, match="not one of"):
        parse_mapping_spec("colour=red")
    with pytest.raises(ValueError, match="no column 'nope'"):
        resolve_mapping(["a"], {}, {"text": "nope"})
    assert resolve_mapping(["a", "b"], {"text": "a", "label": "b"}, {"label": "", "brand": "a"}) == {"brand": "a"}


# -- readers ------------------------------------------------------------------------------------
def test_delimiter_detection() -> None:
    assert detect_delimiter("a;b;c\n1;2;3\n4;5;6\n") == ";"
    assert detect_delimiter('a\tb\n"x, y"\t2\n') == "\t"
    assert detect_delimiter('a,b\n"1;2",3\n') == ","


def test_encoding_detection(tmp_path) -> None:
    cases = {
        "utf8.csv": ("text\ncafé\n".encode(), "utf-8"),
        "bom.csv": (codecs.BOM_UTF8 + "text\ncafé\n".encode(), "utf-8-sig"),
        "cp1252.csv": ("text\n\u201cquoted\u201d café €\n".encode("cp1252"), "cp1252"),
        "utf16.csv": ("text\ncafé\n".encode("utf-16"), "utf-16"),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert detect_encoding(path) == expected, name


def test_wrong_field_counts_are_reported_with_row_numbers(tmp_path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text('text,brand\nfine,A\ntoo,many,fields\n"multi\nline",B\nshort\nlast,C\n')
    chunks = list(iter_chunks(path, chunk_rows=2))
    rows = [n for c in chunks for n in c.row_numbers.tolist()]
    invalid = [(r.row_number, r.reason) for c in chunks for r in c.invalid]
    assert rows == [1, 3, 5]
    assert invalid == [(2, "wrong number of fields (3 instead of 2)"), (4, "wrong number of fields (1 instead of 2)")]


def test_binary_file_is_refused(tmp_path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(InputFileError, match="binary content"):
        next(iter_chunks(path))


def test_plain_tsv_without_header_and_with_stray_quotes(tmp_path) -> None:
    path = tmp_path / "corpus.tsv"
    path.write_text(
        '264183816548130816\tpositive\tGas by my house hit $3.39!!!! I\\u2019m going\n'
        '263405084770172928\tnegative\t"Theo Walcott is still shit\\u002c watch Rafa\n'
        '262163168678248449\tneutral\tits not that I\\u2019m a fan"\n',
        encoding="utf-8",
    )
    chunks = list(iter_chunks(path))
    frame = chunks[0].frame
    assert list(frame.columns) == ["column_1", "column_2", "column_3"]
    assert len(frame) == 3 and chunks[0].row_numbers.tolist() == [1, 2, 3]
    assert frame["column_3"].iloc[1].startswith('"Theo')
    assert guess_mapping(frame) == {"text": "column_3", "label": "column_2"}
