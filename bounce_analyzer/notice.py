"""Reading a parsed message once, for every later stage: its human-readable text (plain parts, else HTML made
plain), the text of its delivery-status and feedback-report parts, where a quoted original starts, and the original
message it carries. Limits that cut text say so in a ``Problem``."""

from __future__ import annotations

import re
from email.message import Message

from .classify.rules import RuleSet
from .formats import Bounce
from .model import Problem
from .options import Options
from .original import find_original
from .parse import bounded as rx
from .parse.dsn import split_fields
from .parse.message import DSN_TYPES, ORIGINAL_TYPES, content_param, content_type, header, part_text, walk

_FEEDBACK_TYPES = frozenset({"message/feedback-report"})


# a tag holds no "<": at each one the pattern looks no further than the next, so a run of them is read in linear time
_TAG = rx.compile(r"<[^<>]{0,2000}>")
_BLOCK_START = rx.compile(r"<(?:style|script)\b", rx.I)
_BLOCK_END = rx.compile(r"</(?:style|script)>", rx.I)


# how a tag breaks the text as a browser shows it: a line break, a paragraph (a blank line), a new cell (a tab, as
# a table's columns are set apart in plain text: "Recipient<TAB>alice@example.net" is a label cell and its value
# cell); any other tag breaks nothing ("ali<b>ce</b>" is one word). A definition's description (<dd>) stands after
# its term (<dt>) as a value cell after its label, and ends its line
_LINE_TAGS = frozenset({"br", "div", "tr", "li", "dt", "center", "title", "address", "section", "article",
                        "header", "footer", "caption", "form", "fieldset", "legend", "option", "nav", "main"})
_PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre", "ul", "ol", "dl",
                             "hr"})
_CELL_TAGS = frozenset({"td", "th", "dd"})
_BLANKS = re.compile(r"\n{3,}")

_ANGLE_ADDRESS = rx.Needing(r"<([^<>]+)>", need="<")


def _without_blocks(html: str) -> str:
    """Style and script elements taken out whole. Each search goes on from where the last one ended: looking for
    the end of every element from its start would take time in the square of the length when none is closed."""
    out = []
    pos = 0
    while (start := rx.search(_BLOCK_START, html, pos)) is not None:
        end = rx.search(_BLOCK_END, html, start.end())
        if end is None:
            break  # not closed: its start tag goes with the other tags
        out += [html[pos:start.start()], " "]
        pos = end.end()
    return "".join(out) + html[pos:] if out else html


def _html_to_text(html: str) -> str:
    """The text of an HTML part as a browser lays it out: white space in the source collapsed (but inside <pre>),
    lines and paragraphs where tags break them, entities decoded, and indentation written with no-break spaces
    kept (the layout of a notice that was plain text, sent as HTML)."""
    from html import unescape  # (its table of entities is loaded only for a notice with no plain text)

    html = _without_blocks(html)
    out: list[str] = []
    pos = 0
    pre = False
    link: tuple[str, int] | None = None  # an open mailto: link: its address and where its text starts in out
    for tag in rx.finditer(_TAG, html):
        text = html[pos:tag.start()]
        out.append(text.replace(" ", "\xa0") if pre else _collapsed(text))
        pos = tag.end()
        inner = tag.group(0)[1:-1].strip()
        name = inner.lstrip("/").split(None, 1)[0].rstrip("/").lower() if inner.lstrip("/") else ""
        if name == "pre":
            pre = not inner.startswith("/")
        if name == "a":
            if inner.startswith("/"):
                _close_link(out, link)
            link = None if inner.startswith("/") else _mailto(inner, len(out))
        if name in _LINE_TAGS:
            if name == "dt" and inner.startswith("/"):
                continue  # a term's description follows it on its line
            if name == "br" and (text.endswith("@") or html.startswith("@", pos)) and text[-1:].strip():
                continue  # an address broken by a line break at its "@" is one address
            out.append("\n")
        elif name in _PARAGRAPH_TAGS:
            out.append("\n\n")
        elif name in _CELL_TAGS:
            out.append("\n" if name == "dd" and inner.startswith("/") else "" if inner.startswith("/") else "\t")
    text = html[pos:]
    out.append(text.replace(" ", "\xa0") if pre else _collapsed(text))
    # spaces the source's white space left at a line's ends go; no-break spaces at its start are its indentation
    lines = (line.strip(" \t").replace("\xa0", " ").rstrip() for line in unescape("".join(out)).split("\n"))
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")


_MAILTO = re.compile(r"""href\s*=\s*["']?mailto:([^"'\s?>]{3,320})""", re.I)


def _mailto(tag: str, start: int) -> tuple[str, int] | None:
    """The address of a mailto: link's start tag (its query and %-escapes left out), with where its text starts."""
    if "mailto:" not in tag.lower():
        return None
    m = _MAILTO.search(tag[:2000])
    if m is None:
        return None
    from urllib.parse import unquote
    address = unquote(m.group(1))
    return (address, start) if "@" in address else None


def _close_link(out: list[str], link: tuple[str, int] | None) -> None:
    """At a mailto: link's end: when its text does not show the address ("Luca Bianchi", "click here"), the address
    is shown after it, as a reader would find it by pointing at the link."""
    if link is not None:
        address, start = link
        if address.lower() not in "".join(out[start:]).lower():
            out.append(f" <{address}>")


# what a reader sees as a space or a quote mark: the no-break, typographic, narrow, mathematical and ideographic
# spaces; curly single and double quotes (and primes, which word processors put for them); and what a reader does not
# see at all: the soft hyphen, the zero-width space, the word joiner and the byte-order mark
_PLAIN = {**dict.fromkeys([0xA0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000], " "),
          **dict.fromkeys([0x2018, 0x2019, 0x201A, 0x201B, 0x2032], "'"),
          **dict.fromkeys([0x201C, 0x201D, 0x201E, 0x201F, 0x2033], '"'),
          **dict.fromkeys([0xAD, 0x200B, 0x2060, 0xFEFF], None)}


_MARKS = re.compile("[" + "".join(map(chr, _PLAIN)) + "]")


def _plain_marks(text: str) -> str:
    """The text with every kind of space written as a space, curly quotes as straight ones and invisible marks
    taken out: "User\xa0unknown" reads as "User unknown", "doesn\u2019t" as "doesn't", "un\u200bknown" as
    "unknown"."""
    if text.isascii() or not _MARKS.search(text):
        return text
    return _MARKS.sub(lambda m: _PLAIN[ord(m.group())] or "", text)  # (only the marks cost time, not the text)


_HTML_SPACE = " \t\n\r\f"  # what HTML counts as white space (not the no-break space)


def _collapsed(text: str) -> str:
    """Each run of white space in the text as one space, no-break spaces kept (str.split, which is quicker than a
    pattern here, would take those too: they are put aside first)."""
    if not text:
        return text
    words = " ".join(text.replace("\xa0", "\ue000").split()).replace("\ue000", "\xa0")
    if not words:
        return " "
    return (" " if text[0] in _HTML_SPACE else "") + words + (" " if text[-1] in _HTML_SPACE else "")


def _unquoted(text: str) -> str:
    """A text every line of which is quoted with ">" (a notice a person quoted in a reply) with one level of
    quoting taken off; any other text as it is."""
    if not text.lstrip().startswith(">"):
        return text
    lines = text.split("\n")
    if not all(line.startswith(">") for line in lines if line.strip()):
        return text
    return "\n".join(line[2:] if line.startswith("> ") else line[1:] for line in lines)


def _read_parts(msg: Message, options: Options, problems: list[Problem] | None = None,
                source: str = "-") -> tuple[str, list[str], list[str], str]:
    """The notice's text (plain parts, else HTML made plain), its delivery-status texts, its feedback-report texts,
    and its first text part: the notice's own words (later parts may carry what it is about). Text beyond
    ``options.max_text`` is not read, and ``problems`` is told so."""
    cut = skipped = 0  # characters beyond the limit, text parts not read at all
    dsn_budget, dsn_cut = options.max_text, 0
    plain: list[str] = []
    html: list[Message] = []  # decoded only if there is no plain text
    dsns: list[str] = []
    feedback: list[str] = []
    budget = options.max_text
    for part in walk(msg):
        ctype = content_type(part)
        text = _plain_marks(part_text(part)) if ctype in DSN_TYPES or (plain and ctype == "text/plain") else ""
        fields = _fields_only(text) if text and ctype not in DSN_TYPES else None
        if ctype in DSN_TYPES or fields is not None:
            # (a text part after the notice's words that holds nothing but delivery-status fields is that part, sent
            # as text/plain: read as one even when the notice's text quotes the original before it)
            text = fields or text
            if len(text) > dsn_budget:  # cut between two recipients' fields
                end = text.rfind("\n\n", 0, dsn_budget + 1)
                end = end if end > 0 else dsn_budget
                dsn_cut += len(text) - end
                text = text[:end]
            dsn_budget -= len(text)
            dsns.append(text)
            continue
        if ctype in _FEEDBACK_TYPES:
            feedback.append(part_text(part))
            continue
        if part.is_multipart() or ctype in ORIGINAL_TYPES:
            continue
        maintype = ctype.split("/", 1)[0]
        if maintype == "multipart" and budget > 0:
            # a multipart whose boundary never shows up: its whole body is one text
            maintype = "text"
        if maintype != "text":
            continue
        if budget <= 0:
            skipped += 1
            continue
        if ctype == "text/html":
            html.append(part)
            continue
        text = _unquoted(text or _plain_marks(part_text(part)))
        cut += max(0, len(text) - budget)
        text = text[:budget]
        budget -= len(text)
        plain.append(text)
    if not plain and html:
        whole = [part_text(h) for h in html]
        cut += sum(max(0, len(t) - options.max_text) for t in whole)
        plain = [_plain_marks(_html_to_text(t[:options.max_text])) for t in whole]
    if (cut or skipped) and problems is not None:
        problems.append(_text_cut(source, "notice's text", options.max_text, cut, skipped))
    if dsn_cut and problems is not None:
        problems.append(_text_cut(source, "delivery-status fields", options.max_text, dsn_cut, 0))
    return "\n\n".join(plain).replace("\r", ""), dsns, feedback, (plain[0] if plain else "").replace("\r", "")


def _fields_only(text: str) -> str | None:
    """The delivery-status fields of a text that holds nothing else, as ``split_fields`` reads them."""
    found = split_fields(text)
    return found[1] if found is not None and not found[0].strip() else None


def _text_cut(source: str, what: str, limit: int, cut: int, skipped: int) -> Problem:
    dropped = [f"{cut:,} characters" if cut else "", f"{skipped:,} more text parts" if skipped else ""]
    return Problem(source, "truncated", f"only the first {limit:,} characters of the {what} were read "
                                        f"(max_text); {' and '.join(d for d in dropped if d)} were not, so "
                                        "recipients and reasons given there are missing")


_LEAD = " \t-=*_>[(|"  # what may stand before a marker on its line: indentation, rules, quote marks


class _Markers:
    """The markers without their leading rule of dashes (servers draw it with any number of them: "----- This is a
    copy" as well as "------ This is a copy"), by their first character; those that begin with a character that
    may also lead a line are looked for one by one."""

    def __init__(self, markers: tuple[str, ...]) -> None:
        bare = tuple(dict.fromkeys(m.lstrip("-= ") or m for m in markers))
        # a line that starts with one of the others after its leading characters (taken whole: none of these
        # markers starts with one of them), found by the standard library in one pass over the text
        firsts = sorted((m for m in bare if m[0] not in _LEAD), key=len, reverse=True)
        self.at_line = re.compile(f"(?m)^[{re.escape(_LEAD)}]*+(?:{'|'.join(map(re.escape, firsts))})") \
            if firsts else None
        self.others = tuple(m for m in bare if m[0] in _LEAD)


_marker_cache: dict[tuple[str, ...], _Markers] = {}


def _cut_original(notice: str, markers: tuple[str, ...]) -> tuple[str, str]:
    """Split the notice where the quoted original message starts: at the start of the line of the first marker that
    starts its line (after nothing but indentation, rules and quote marks: a marker inside a sentence is a word of
    it). The rule of dashes before a marker goes with it, so that a forwarded notice's "-----Original
    Message-----" line is read whole where the copy is looked at."""
    known = _marker_cache.get(markers)
    if known is None:
        known = _marker_cache[markers] = _Markers(markers)
    low = notice.lower()
    # (a marker may run over its line, "original message:\n"; the marker's line goes whole with the copy, so that
    # "-----Original Message-----" stays one line)
    first = known.at_line.search(low) if known.at_line is not None else None
    cut = first.start() if first is not None else len(notice)
    for marker in known.others:
        i = low.find(marker, 0, cut + len(marker) - 1)  # only where it would start before the earliest cut so far
        while 0 <= i < cut:
            line_start = low.rfind("\n", 0, i) + 1
            if not low[line_start:i].strip(_LEAD):
                cut = line_start
                break
            i = low.find(marker, i + 1, cut + len(marker) - 1)
    return notice[:cut], notice[cut:]


def _sender_address(msg: Message) -> str:
    """The From address: in angle brackets, else the word that holds an "@" (the older form "address (Name)")."""
    value = header(msg, "from")
    m = _ANGLE_ADDRESS.search(value)
    if m:
        return m.group(1).strip().lower()
    return next((w for w in value.split() if "@" in w), value).strip().lower()


# an address a line's end wrapped at its "@" (on either side of it): "applications@" / "example.net", and the same
# lines joined again with a space (as HTML shows a line's end) "applications@ example.net"
_WRAPPED_AT = rx.compile(r"(?<=[\w.+-]@)(?:[ \t]{1,12}|[ \t]{0,12}\n[ \t]{0,12})(?=[\w-]{1,63}\.[\w-])|"
                         r"(?<=[\w.+-])\n(?=@[\w-]{1,63}\.[\w-])")


def _rejoined(text: str) -> str:
    """The text with each address that a line's end broke at its "@" whole again (mail programs and people wrap
    long lines wherever they can, and an "@" is a place some of them break at)."""
    if "@\n" not in text and "\n@" not in text and "@ " not in text:
        return text
    return rx.sub(_WRAPPED_AT, "", text)


def read_notice(msg: Message, rules: RuleSet, options: Options, problems: list[Problem] | None = None,
                source: str = "-") -> tuple[Bounce, list[str]]:
    """The message read once for every parser, and the text of any feedback-report part."""
    notice_full, dsns, feedback, first = _read_parts(msg, options, problems, source)
    notice, tail = _cut_original(notice_full, rules.detect.original_markers)
    # delivery-status fields written as paragraphs of the notice's text (in a text part of their own, or between its
    # words and the copy of the original) are read as the part they stand for, not as the notice's words; a notice
    # of nothing but fields keeps them, and fields in the copy of the original are the original's
    found = split_fields(notice)
    if found is not None and found[0].strip():
        notice = found[0]
        dsns = [*dsns, found[1]]
    notice, first = _rejoined(notice), _rejoined(first)
    lead = first if len(first) < len(notice) else notice
    report_type = content_param(msg, "report-type") if content_type(msg) == "multipart/report" else ""
    b = Bounce(msg=msg, subject=header(msg, "subject"), sender=_sender_address(msg), report_type=report_type,
               notice=notice, dsn_texts=dsns, original=find_original(msg, tail), quoted=tail, lead=lead,
               detect=rules.detect)
    return b, feedback
