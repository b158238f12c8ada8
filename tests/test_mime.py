"""The MIME reader (``parse/mime.py``) builds the standard library's compat32 tree node by node: over the samples,
the fuzz tests' inputs, messages built at random from the shapes that matter, and one hand-written case for each rule
the feed parser follows. Inputs it leaves to the feed parser still give ``parse_bytes`` the standard tree."""

from __future__ import annotations

import email.errors
import itertools
import random

import pytest

from bench.fuzz import cases, load_samples
from bench.mime_diff import difference, standard
from bounce_analyzer.parse.message import normalise_newlines, parse_bytes
from bounce_analyzer.parse.mime import MAX_DEPTH, Uncommon, read_message
from tests.conftest import SAMPLES


def _reader(data: bytes):
    return read_message(data.decode("ascii", "surrogateescape"))


def _same(data: bytes) -> bool:
    """parse_bytes gives the standard tree (or, for nesting deeper than the feed parser can go, the same error);
    returns whether the reader (not the feed parser) built it."""
    try:
        theirs = standard(data)
    except RecursionError:
        with pytest.raises(RecursionError):
            parse_bytes(data)
        return False
    found = difference(parse_bytes(data), theirs)
    assert found is None, found
    try:
        mine = _reader(data)
    except Uncommon:
        return False
    found = difference(mine, theirs)
    assert found is None, found
    return True


def test_every_sample_gives_the_standard_tree_and_lf_samples_are_read_by_the_reader():
    for path in sorted(SAMPLES.rglob("*.eml")):
        raw = path.read_bytes()
        assert _same(normalise_newlines(raw)), path
        _same(raw)


def test_the_fuzz_inputs_give_the_standard_tree():
    read = 0
    inputs = [c.raw for c in itertools.islice(cases(20261203, load_samples(), max_bytes=100_000), 400)]
    for raw in inputs:
        for data in (raw, normalise_newlines(raw)):
            read += _same(data)
    assert read > len(inputs)  # most are read by the reader, not left to the feed parser


def test_the_costly_shapes_of_the_fuzz_tests_give_the_standard_tree():
    from tests.test_fuzz import SHAPES

    for name, raw in SHAPES.items():
        assert _same(raw[:200_000]) or name in ("nested multiparts", "nested messages"), name


# --- messages built at random from the shapes the rules are about --------------------------------------------------

BOUNDARIES = ["B", "B2", "b-", "x:y", "=_q", "a b", "--d"]
TYPES = ["text/plain", "multipart/mixed", "multipart/report", "multipart/digest", "message/rfc822",
         "message/delivery-status", "message/global-delivery-status", "text/rfc822-headers", None]


def _boundary_line(rnd: random.Random, boundaries: list[str], own: str, close: bool = False) -> str:
    b = own if rnd.random() < 0.85 else rnd.choice(boundaries)
    end = "--" if close else rnd.choice(["", "", "", "", "--"])
    return "--" + b + end + rnd.choice(["", "", "", " ", "\t ", "x", "-"]) + "\n"


def _lines(rnd: random.Random, boundaries: list[str]) -> str:
    out = []
    for _ in range(rnd.randrange(4)):
        out.append(rnd.choice(["text\n", "\n", "\n", "From here\n", " indented\n", "Key: value\n", "--\n",
                               "- --B\n", "--B x\n", "\xe9t\xe9\n"]))
        if boundaries and rnd.random() < 0.1:
            out.append(_boundary_line(rnd, boundaries, boundaries[-1]))
    return "".join(out)


def _message(rnd: random.Random, boundaries: list[str], depth: int) -> str:
    ctype = rnd.choice(TYPES if depth < 4 else ["text/plain", None])
    head = []
    if rnd.random() < 0.05:
        head.append("From sender@example.com Mon Jan  1 00:00:00 2024\n")
    head.append(rnd.choice(["Subject: a\n", "Subject:\n", "X-Long: a\n\tb\n", "X-Empty:  \n \n", "Received: x\n"]))
    own = rnd.choice(BOUNDARIES)
    if ctype is not None:
        param = f'; boundary="{own}"' if ctype.startswith("multipart/") and rnd.random() < 0.95 else ""
        head.append(f"Content-Type: {ctype}{param}\n")
    if rnd.random() < 0.05:
        head.append(rnd.choice(["Content-Transfer-Encoding: base64\n", ":no name\n", "From x\n", " lead\n",
                                "X-8bit: caf\xe9\n"]))
    if rnd.random() < 0.1:
        rnd.shuffle(head)
    sep = rnd.choice(["\n"] * 8 + ["", "not a header\n"])
    kind = (ctype or "").split("/")[0]
    if ctype == "message/delivery-status":
        blocks = []
        for _ in range(rnd.randrange(4)):
            block = "".join(rnd.choice(["Status: 5.1.1\n", "Action: failed\n", "Diagnostic-Code: smtp; 550\n x\n",
                                        "no header\n"]) for _ in range(rnd.randrange(1, 4)))
            blocks.append(block)
        body = rnd.choice(["", "\n"]) + "".join(b + "\n" * rnd.choice([0, 1, 1, 1, 2, 3]) for b in blocks)
    elif kind == "message":
        body = _message(rnd, boundaries, depth + 1)
    elif kind == "multipart":
        inner = [*boundaries, own]
        parts = [_lines(rnd, boundaries)]
        for _ in range(rnd.randrange(4)):
            parts.append(_boundary_line(rnd, inner, own))
            parts.append(_message(rnd, inner, depth + 1))
        if rnd.random() < 0.85:
            parts.append(_boundary_line(rnd, inner, own, close=True))
        parts.append(_lines(rnd, boundaries))
        body = "".join(parts)
    else:
        body = _lines(rnd, boundaries)
    return "".join(head) + sep + body


def test_random_messages_of_every_shape_give_the_standard_tree():
    rnd = random.Random(20261202)
    read = total = 0
    for _ in range(1500):
        text = _message(rnd, [], 0)
        if rnd.random() < 0.3:
            text = text.rstrip("\n")
        data = text.encode("ascii", "surrogateescape") if text.isascii() else text.encode("latin-1")
        total += 1
        read += _same(data)
    assert read > total // 2


# --- one case for each rule ----------------------------------------------------------------------------------------

MP = b'Content-Type: multipart/mixed; boundary="B"\n\n'
DSN = b"Content-Type: message/delivery-status\n\n"

READ = {  # inputs the reader reads itself
    "empty": b"",
    "a blank line only": b"\n",
    "headers only, no line break at the end": b"Subject: x\nX-A: y",
    "headers and a blank line only": b"Subject: x\n\n",
    "a body without a line break at the end": b"Subject: x\n\nbody",
    "continuations keep their line breaks": b"Subject: a\n\tb\n  c\nX-E:\n \n\nbody\n",
    "leading spaces and tabs of a value": b"Subject: \t  a \n\n",
    "header names of any printable character": b"X-a.b!#$%&'*+/=?^_`{|}~\"(),;<>@[]\\: v\n\n",
    "8-bit header values": b"Subject: caf\xc3\xa9 \xff\n\n\xfe\n",
    "NUL bytes": b"Subject: a\x00b\n\n\x00\n",
    "an envelope line first": b"From sender@example.com Mon Jan 1\nSubject: x\n\nFrom here on\n",
    "an envelope line alone": b"From sender@example.com",
    "a line that is no header starts the body": b"Subject: x\nthis is text\nY: z\n",
    "an 8-bit header name starts the body": b"Subject: x\nS\xc3\xbcbject: y\n\n",
    "multipart": MP + b"--B\nX: 1\n\none\n--B\n\ntwo\n\n--B--\n",
    "multipart, preamble of a blank line": MP + b"\n--B\n\none\n--B--\n",
    "multipart, preamble of text": MP + b"pre\namble\n\n--B\n\none\n--B--\n",
    "boundary lines with spaces and tabs after them": MP + b"--B \t\n\none\n--B-- \t\nepilogue\n",
    "lines that only start like a boundary": MP + b"--B\n\n--Bx\n--B -\n x--B\n--B--\n",
    "a closing line without a line break": MP + b"--B\n\none\n--B--",
    "an epilogue": MP + b"--B\n\none\n--B--\n\nepi\nlogue\n\n",
    "no closing line": MP + b"--B\n\none\n--B\n\ntwo\n",
    "no opening line": MP + b"just text\n",
    "a closing line only": MP + b"pre\n--B--\nafter\n",
    "no boundary parameter": b"Content-Type: multipart/mixed\n\n--B\n\none\n",
    "a transfer encoding a multipart may not have": b"Content-Transfer-Encoding: base64\n" + MP + b"--B\n\n1\n--B--\n",
    "a boundary line at the end without a line break": MP + b"--B\n\none\n--B",
    "a boundary ending in a dash": b'Content-Type: multipart/mixed; boundary="b-"\n\n--b-\n\none\n--b---\n',
    "a boundary with a colon ends the headers of a part": (
        b'Content-Type: multipart/mixed; boundary="x:y"\n\n--x:y\nX: 1\n--x:y\n\ntwo\n--x:y--\n'),
    "a quoted boundary with a space": b'Content-Type: multipart/mixed; boundary="a b"\n\n--a b\n\n1\n--a b--\n',
    "an enclosing boundary ends an inner multipart": (
        MP + b"--B\nContent-Type: multipart/alternative; boundary=C\n\n--C\n\ninner\n--B\n\nnext\n--B--\n"),
    "an inner epilogue loses the line break before the boundary": (
        MP + b"--B\nContent-Type: multipart/alternative; boundary=C\n\n--C\n\ni\n--C--\nepi\n\n--B--\n"),
    "an inner multipart with an empty epilogue": (
        MP + b"--B\nContent-Type: multipart/alternative; boundary=C\n\n--C\n\ni\n--C--\n--B--\n"),
    "an enclosing boundary in the headers of a part": MP + b"--B\nX: 1\n--B\nY: 2\n\nb\n--B--\n",
    "an inner multipart with the same boundary": (
        MP + b"--B\nContent-Type: multipart/mixed; boundary=B\n\n--B\n\nx\n--B--\n"),
    "a digest's parts are messages": (
        b"Content-Type: multipart/digest; boundary=D\n\n--D\n\nSubject: one\n\nbody\n--D\nContent-Type: text/plain"
        b"\n\nplain\n--D--\n"),
    "an attached message loses the line break before the boundary": (
        MP + b"--B\nContent-Type: message/rfc822\n\nSubject: orig\n\nbody\n\n--B--\n"),
    "an attached multipart message": (
        MP + b"--B\nContent-Type: message/rfc822\n\nContent-Type: multipart/mixed; boundary=C\n\n--C\n\nx\n--C--\n"
        b"e\n--B--\n"),
    "an empty attached message": MP + b"--B\nContent-Type: message/rfc822\n\n--B--\n",
    "a message as the whole message": b"Content-Type: message/rfc822\n\nSubject: inner\n\nbody\n",
    "delivery-status": MP + b"--B\n" + DSN + b"Reporting-MTA: dns; a\n\nFinal-Recipient: rfc822; x\nStatus: 5.1.1\n"
                       b"\n--B--\n",
    "delivery-status, runs of blank lines make empty blocks": (
        MP + b"--B\n" + DSN + b"\nA: 1\n\n\nB: 2\n\n\n\nC: 3\n\n\n--B--\n"),
    "delivery-status, empty": MP + b"--B\n" + DSN + b"--B--\n",
    "delivery-status, a line that is no header": MP + b"--B\n" + DSN + b"A: 1\nnot a header\nmore\n\nB: 2\n--B--\n",
    "delivery-status, continuation lines": MP + b"--B\n" + DSN + b"A: 1\n 2\n\t3\n \nB: 4\n\n--B--\n",
    "delivery-status as the whole message, no line break at the end": DSN + b"A: 1\n\nB: 2",
    "global delivery-status is one message": MP + b"--B\nContent-Type: message/global-delivery-status\n\nA: 1\n\n"
                                             b"B: 2\n--B--\n",
    "a delivery-status block with an envelope line": DSN + b"From x\nA: 1\n",
    "delivery-status, a line of spaces or a lone -- is no blank line": DSN + b"A: 1\n \nB: 2\n--\nC: 3\n",
}

FALLBACK = {  # inputs the reader leaves to the feed parser
    "carriage returns": b"Subject: x\r\n\r\nbody\r\n",
    "an envelope line after the first header": b"Subject: x\nFrom sender@example.com\nX: y\n\n",
    "an envelope line last among the headers": b"Subject: x\nFrom sender@example.com\n\nbody\n",
    "a header block that starts with a continuation": b" lead\nSubject: x\n\n",
    "a header line starting with a colon": b"Subject: x\n:no name\n\n",
    "a boundary folded over two lines": (
        b'Content-Type: multipart/mixed; boundary="a\n b"\n\n--a\n b\n\nx\n--a\n b--\n'),
    "boundary lines in a row": MP + b"--B\n--B\n\none\n--B--\n",
    "a closing line right after an opening one": MP + b"--B\n--B--\nepilogue\n",
    "a typed header block in delivery-status": DSN + b"Content-Type: multipart/mixed; boundary=C\n\n--C\n",
    "deep nesting": b"Content-Type: message/rfc822\n\n" * (MAX_DEPTH + 2) + b"Subject: x\n\nbody\n",
}


@pytest.mark.parametrize("name", sorted(READ))
def test_the_reader_builds_the_standard_tree(name):
    data = READ[name]
    assert _same(data), f"{name}: left to the feed parser"
    crlf = data.replace(b"\n", b"\r\n")
    assert _same(normalise_newlines(crlf))  # CRLF and CR-only input is made LF before analyze() parses it
    assert _same(normalise_newlines(data.replace(b"\n", b"\r")))
    assert not _same(crlf) or b"\n" not in data


@pytest.mark.parametrize("name", sorted(FALLBACK))
def test_shapes_the_reader_does_not_build_go_to_the_feed_parser(name):
    assert not _same(FALLBACK[name])


# --- a few of the rules, checked by hand -------------------------------------------------------------------------

def test_the_line_break_before_a_boundary_belongs_to_the_boundary():
    msg = parse_bytes(MP + b"pre\n\n--B\n\none\n\n--B\n\ntwo\n--B--\nepi\n")
    assert msg.preamble == "pre\n"
    assert [p.get_payload() for p in msg.get_payload()] == ["one\n", "two"]
    assert msg.epilogue == "epi\n"


def test_preamble_and_epilogue_that_are_absent_or_empty():
    msg = parse_bytes(MP + b"--B\n\none\n--B--")
    assert msg.preamble is None and msg.epilogue == ""
    msg = parse_bytes(MP + b"\n--B\n\none\n--B--\n")
    assert msg.preamble == "" and msg.epilogue == ""
    inner = parse_bytes(READ["an inner multipart with an empty epilogue"]).get_payload(0)
    assert inner.epilogue is None  # "" before the outer boundary took its line break


def test_blank_lines_in_delivery_status_make_empty_blocks():
    dsn = parse_bytes(READ["delivery-status, runs of blank lines make empty blocks"]).get_payload(0)
    blocks = dsn.get_payload()
    assert [b.items() for b in blocks] == [[], [("A", "1")], [], [("B", "2")], [], [], [("C", "3")], []]
    assert all(b.get_payload() == "" for b in blocks)


def test_defects_are_recorded_as_the_feed_parser_records_them():
    def defects(data: bytes) -> list[type]:
        return [type(d) for d in _reader(data).defects]

    assert defects(READ["no closing line"]) == [email.errors.CloseBoundaryNotFoundDefect]
    assert defects(READ["no opening line"]) == [email.errors.StartBoundaryNotFoundDefect,
                                                email.errors.MultipartInvariantViolationDefect]
    assert defects(READ["no boundary parameter"]) == [email.errors.NoBoundaryInMultipartDefect,
                                                      email.errors.MultipartInvariantViolationDefect]
    assert defects(READ["a line that is no header starts the body"]) == [
        email.errors.MissingHeaderBodySeparatorDefect]
    assert _reader(READ["a line that is no header starts the body"]).get_payload() == "this is text\nY: z\n"


def test_a_digest_part_without_a_type_is_a_message():
    first, second = parse_bytes(READ["a digest's parts are messages"]).get_payload()
    assert first.get_content_type() == "message/rfc822" and first.get_payload(0)["Subject"] == "one"
    assert second.get_content_type() == "text/plain" and second.get_default_type() == "message/rfc822"


def test_raw_header_values_as_compat32_keeps_them():
    msg = parse_bytes(READ["continuations keep their line breaks"])
    assert msg._headers == [("Subject", "a\n\tb\n  c"), ("X-E", "\n ")]
    assert parse_bytes(READ["an envelope line first"]).get_unixfrom() == "From sender@example.com Mon Jan 1"


def test_the_type_and_boundary_read_from_the_header_list_are_the_standard_methods_answers():
    from email.message import Message

    from bounce_analyzer.parse.mime import _boundary, _content_type

    # what a value read from bytes can hold: ASCII, and surrogates for the other bytes
    pieces = ["multipart/mixed", "Multipart/Report", ";", " ", '"', "=", "boundary", "BOUNDARY", "abc", "<", ">",
              "\t", "report-type", "/", "b*", "\\", "\udce9", "\n ", "'", "(", ")"]
    rng = random.Random(7)
    for _ in range(20000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        msg = Message()
        if rng.random() < 0.9:
            msg._headers.append(("Content-Type", value))  # as the reader stores a field: the raw value
        if rng.random() < 0.2:
            msg._headers.append(("content-type", "text/plain"))
        assert (_boundary(msg), _content_type(msg)) == (msg.get_boundary(), msg.get_content_type()), value
    # parameters as senders write them: quoted or not, in angle brackets, with semicolons inside quotes
    names = ["boundary", "Boundary", " boundary ", "report-type", "charset", ""]
    values = ["abc", '"abc"', '"<abc>"', "<abc>", '"a;b"', '"a b "', '"', '""', "", '"abc', 'ab"c"', "\udce9"]
    for _ in range(20000):
        params = "".join(f"{rng.choice([';', '; ', ' ;'])}{rng.choice(names)}{rng.choice(['=', ' = ', ''])}"
                         f"{rng.choice(values)}" for _ in range(rng.randint(0, 3)))
        value = rng.choice(["multipart/mixed", "multipart/report", "text/plain", "", "boundary=x"]) + params
        msg = Message()
        msg._headers.append(("Content-Type", value))
        assert (_boundary(msg), _content_type(msg)) == (msg.get_boundary(), msg.get_content_type()), value
