"""Checks on a rule set, run by the test suite and by ``bounce-analyzer rules check``: every offender is collected
before anything is reported."""

from __future__ import annotations

from ..parse import smtp
from .rules import Example, Rule, RuleSet


def _example_matches(rule: Rule, ex: Example) -> bool:
    if rule.text_matches(ex.text.lower(), timeout=2.0) is None:
        return False
    if not ex.whole_rule:
        return True
    return rule.guards_hold(ex.status, ex.reply, (ex.host,) if ex.host else (), ex.command)


def check(rules: RuleSet) -> list[str]:
    """Every problem found, one line each, naming the file and the rule."""
    problems: list[str] = []
    for rule in rules.rules:
        where = f'{rule.file}: rule "{rule.id}"'
        if not rule.match_examples:
            problems.append(f"{where}: has no examples.match")
        if not rule.no_match_examples:
            problems.append(f"{where}: has no examples.no_match")
        for ex in rule.match_examples:
            if not _example_matches(rule, ex):
                problems.append(f"{where}: example should match but does not: {ex.text!r}")
        for ex in rule.no_match_examples:
            if _example_matches(rule, ex):
                problems.append(f"{where}: example should not match but does: {ex.text!r}")
        # a guard on both codes must not ask for a reply class the status class contradicts
        for s in rule.status:
            for r in rule.reply:
                if s[0] in "245" and r[0] in "245" and s[0] != r[0] and not _mixed_on_purpose(rule):
                    problems.append(f'{where}: status guard "{s}" and reply guard "{r}" have different classes')
    for code, entry in rules.statuses.items():
        if code[0] in "245" and entry.reason == "delivered" and code[0] != "2":
            problems.append(f'status "{code}": a failure code cannot mean "delivered"')
    for entry in rules.statuses.values():
        if entry.reason and entry.reason not in rules.reasons:
            problems.append(f'status "{entry.code}": unknown reason "{entry.reason}"')
    problems.extend(_hints_against_fault(rules))
    problems.extend(_check_servers(rules))
    # an example that another rule, earlier in precedence, would take from this one is worth knowing about
    problems.extend(_shadowed(rules))
    return problems


def _mixed_on_purpose(rule: Rule) -> bool:
    """Rules about codes that lie (``550 4.7.1``) may guard on mixed classes; they say so in their id."""
    return "conflict" in rule.id or "mixed" in rule.id


def _shadowed(rules: RuleSet) -> list[str]:
    out: list[str] = []
    ordered = list(rules.rules)
    for i, rule in enumerate(ordered):
        for ex in rule.match_examples:
            low = ex.text.lower()
            for earlier in ordered[:i]:
                if earlier.reason == rule.reason or earlier.priority < rule.priority:
                    continue
                if earlier.text_matches(low, timeout=2.0) is None:
                    continue
                status = ex.status if ex.whole_rule else None
                if ex.whole_rule and not earlier.guards_hold(status, ex.reply, (ex.host,) if ex.host else (),
                                                             ex.command):
                    continue
                if not ex.whole_rule and (earlier.status or earlier.reply or earlier.hosts or earlier.commands):
                    continue
                out.append(f'{rule.file}: rule "{rule.id}": its example {ex.text!r} is taken first by rule '
                           f'"{earlier.id}" ({earlier.reason}) from {earlier.file}')
                break
    return out



# words with which a hint would have the list manager drop an address
_DROP_WORDS = ("suppress", "unsubscribe", "remove the address", "remove addresses", "stop mailing")


def _hints_against_fault(rules: RuleSet) -> list[str]:
    """A failure that is not the recipient's (the sender's IP, a broken destination, the network) must never come
    with a hint that drops the address: that is how good subscribers get unsubscribed."""
    out: list[str] = []
    for reason in rules.reasons.values():
        if reason.fault not in (None, "recipient", "unknown") and any(w in reason.hint.lower() for w in _DROP_WORDS):
            out.append(f'reason "{reason.id}": its fault is "{reason.fault}" but its hint says to drop the address')
    for entry in (*rules.statuses.values(), *rules.replies.values()):
        of_code = rules.reasons.get(entry.reason or "")
        if entry.hint and of_code and of_code.fault not in (None, "recipient", "unknown") and any(
                w in entry.hint.lower() for w in _DROP_WORDS):
            out.append(f'code "{entry.code}": its reason\'s fault is "{of_code.fault}" but its hint says to drop the '
                       "address")
    for rule in rules.rules:
        of_rule = rules.reasons.get(rule.reason)
        fault = rule.fault or (of_rule.fault if of_rule else None)
        hint = rule.hint or (of_rule.hint if of_rule else "")
        if fault not in (None, "recipient", "unknown") and any(w in hint.lower() for w in _DROP_WORDS):
            out.append(f'{rule.file}: rule "{rule.id}": its fault is "{fault}" but its hint says to drop the address')
        if rule.verdict == "hard" and fault not in ("recipient", "unknown"):
            out.append(f'{rule.file}: rule "{rule.id}": a hard verdict for a failure whose fault is "{fault}"')
    return out


def _check_servers(rules: RuleSet) -> list[str]:
    """Every server cue's examples: a match example is read by that cue (with the host and IP it names), a
    no_match example is not."""
    out: list[str] = []
    for server in rules.servers:
        where = f'{server.file}: server "{server.id}"'
        if not server.match_examples or not server.no_match_examples:
            out.append(f"{where}: needs examples.match and examples.no_match")
        for text, host, ip in server.match_examples:
            cue = smtp.find_server(text, (server,), writers=True)
            if cue is None:
                out.append(f"{where}: example should match but does not: {text!r}")
            elif (host and cue.host != host) or (ip and cue.ip != ip):
                out.append(f"{where}: example {text!r} reads host {cue.host!r} and IP {cue.ip!r}, not {host!r} and "
                           f"{ip!r}")
        for text, _, _ in server.no_match_examples:
            if smtp.find_server(text, (server,), writers=True) is not None:
                out.append(f"{where}: example should not match but does: {text!r}")
    return out
