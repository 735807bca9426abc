"""How many plausible wrong answers the graders' feedback names, per exercise (issue: checks that are fair).

    .venv/bin/python scripts/named_fraction.py [--markdown]

Reads the answer sets of tests/answers/ (written as students write them) and runs each through the
inline check, as a student does. A wrong answer is *named* when its feedback names a mistake (a known
mistake of the exercise, or one of the generic ones: sign, transpose, factor, ignored option) rather than
only "does not match the reference"; answers that crash are counted apart (their feedback is the error).
"""
import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from answers import answer_sets  # noqa: E402
from autograder import check_exercise  # noqa: E402


def measure():
    rows = {}
    for tutorial, module in answer_sets().items():
        for exercise_id, answers in module.WRONG.items():
            counts = defaultdict(int)
            for function, _ in answers:
                result = check_exercise(exercise_id, function)
                if result.passed:
                    counts["accepted"] += 1
                elif result.status == "wrong":
                    counts["wrong"] += 1
                    counts["named"] += result.mistake is not None
                else:
                    counts["crashed"] += 1
            correct = [check_exercise(exercise_id, f).passed for f in getattr(module, "CORRECT", {}).get(exercise_id, [])]
            counts["correct"], counts["rejected"] = len(correct), correct.count(False)
            rows[exercise_id] = dict(counts)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    rows = measure()
    header = ("exercise", "wrong", "named", "named %", "crashed", "accepted", "correct", "rejected")
    lines = []
    total = defaultdict(int)
    for exercise_id, c in rows.items():
        for k, v in c.items():
            total[k] += v
        share = 100.0 * c.get("named", 0) / c["wrong"] if c.get("wrong") else float("nan")
        lines.append((exercise_id, c.get("wrong", 0), c.get("named", 0), f"{share:.0f}", c.get("crashed", 0),
                      c.get("accepted", 0), c.get("correct", 0), c.get("rejected", 0)))
    share = 100.0 * total["named"] / total["wrong"] if total["wrong"] else float("nan")
    lines.append(("all", total["wrong"], total["named"], f"{share:.0f}", total["crashed"], total["accepted"],
                  total["correct"], total["rejected"]))
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in lines:
            print("| " + " | ".join(map(str, line)) + " |")
    else:
        print(f"{header[0]:<45}" + "".join(f"{h:>10}" for h in header[1:]))
        for line in lines:
            print(f"{line[0]:<45}" + "".join(f"{v:>10}" for v in line[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
