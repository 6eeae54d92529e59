#!/usr/bin/env python3
# ruff: noqa  (a verbatim copy of the corpus scorer; kept as published)
"""Score parser output against an expected-result corpus.

Usage:
    autosig parse < CORPUS.jsonl > OUT.jsonl
    python3 check_corpus.py CORPUS.jsonl OUT.jsonl [--verbose]

CORPUS lines: {"id", "text", "created_at", "reply_to", "expect"}. OUT lines: {"id", "kind", "signals", ...}.
Only the fields present in "expect" are checked:
- kind must match; a signal-kind expectation must have the same number of signals, in order;
- numbers compare within 1e-6 (fraction within 0.01); legs compare leg by leg, on the leg keys given;
- stop compares on the keys given; targets compare item by item on the keys given;
- tags: the expected tags must all be present.
Prints one line per mismatch with --verbose, then "score: P/T" and exits 0 when every example passes.
"""
import json
import sys


def close(a, b, tol=1e-6):
    if a is None or b is None:
        return a is None and b is None
    try:
        return abs(float(a) - float(b)) <= tol
    except (TypeError, ValueError):
        return False


def same_dict(exp, got, tol=1e-6):
    if not isinstance(got, dict):
        return False
    for k, v in exp.items():
        g = got.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if not close(v, g, tol):
                return False
        elif v != g:
            return False
    return True


def field_ok(name, exp, got):
    if name == "legs":
        return isinstance(got, list) and len(got) == len(exp) and all(same_dict(e, g) for e, g in zip(exp, got))
    if name == "targets":
        return isinstance(got, list) and len(got) == len(exp) and all(same_dict(e, g) for e, g in zip(exp, got))
    if name == "stop":
        return same_dict(exp, got)
    if name == "tags":
        return isinstance(got, list) and all(t in got for t in exp)
    if name == "price_range":
        return isinstance(got, list) and len(got) == len(exp) and all(close(e, g) for e, g in zip(exp, got))
    if name == "fraction":
        return close(exp, got, 0.01)
    if name in ("price", "size_pct", "quantity", "entry_price", "confidence"):
        return close(exp, got)
    return exp == got


def check(expect, got):
    """Returns a list of mismatch descriptions (empty when the example passes)."""
    problems = []
    if got is None:
        return ["no output line for this id"]
    if got.get("kind") != expect["kind"]:
        return [f"kind: expected {expect['kind']!r}, got {got.get('kind')!r}"]
    if "signals" in expect:
        gs = got.get("signals") or []
        if len(gs) != len(expect["signals"]):
            return [f"signals: expected {len(expect['signals'])}, got {len(gs)}"]
        for i, (es, g) in enumerate(zip(expect["signals"], gs)):
            for name, ev in es.items():
                if not field_ok(name, ev, g.get(name)):
                    problems.append(f"signal {i} {name}: expected {ev!r}, got {g.get(name)!r}")
    return problems


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    verbose = "--verbose" in argv
    corpus = [json.loads(line) for line in open(argv[1], encoding="utf-8") if line.strip()]
    out = {}
    for line in open(argv[2], encoding="utf-8"):
        if line.strip():
            d = json.loads(line)
            out[d.get("id")] = d
    passed = 0
    for ex in corpus:
        problems = check(ex["expect"], out.get(ex["id"]))
        if problems:
            if verbose:
                print(f"{ex['id']}: {ex['text'][:70]!r}")
                for p in problems:
                    print(f"    {p}")
        else:
            passed += 1
    print(f"score: {passed}/{len(corpus)}")
    return 0 if passed == len(corpus) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
