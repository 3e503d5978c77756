#!/usr/bin/env python3
"""Validate FHIR JSON files with an independent implementation: the `fhir.resources` models.

Usage: validate-fhir.py FILE_OR_DIR...

Each file holds one resource (a Bundle's entries are validated with it). The models check types,
cardinalities, value formats and that no unknown element is present. We use the R4B models:
fhir.resources ships R5 (default), R4B and STU3, and R4B differs from R4 only in resources that
Aftercare does not write. On top, the FHIR JSON rule the models do not enforce: no null, no empty
string, list or object anywhere.

Exit code 0 when every file is valid, 1 otherwise (every problem is printed), 2 on bad usage.
The pinned version is in requirements-fhir.txt.
"""

import json
import sys
from pathlib import Path

try:
    from fhir.resources.R4B import get_fhir_model_class
except ImportError as e:  # pragma: no cover - environment problem
    print(f"fhir.resources is not installed: {e} (pip install -r requirements-fhir.txt)", file=sys.stderr)
    sys.exit(2)


def empties(value, at="$"):
    """Paths of nulls and empty strings, lists or objects (forbidden in FHIR JSON)."""
    if value is None or value == "" or value == [] or value == {}:
        yield at
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from empties(v, f"{at}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from empties(v, f"{at}.{k}")


def validate(path):
    """Problems found in one file, as strings."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return [f"not readable JSON: {e}"]
    kind = data.get("resourceType") if isinstance(data, dict) else None
    if not kind:
        return ["no resourceType"]
    problems = [f"empty or null element at {p}" for p in empties(data)]
    try:
        model = get_fhir_model_class(kind)
    except KeyError:
        return problems + [f"unknown resource type {kind}"]
    try:
        model.model_validate(data)
    except Exception as e:  # pydantic.ValidationError and friends: report, go on
        problems.append(str(e))
    return problems


def main(args):
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    files = []
    for a in args:
        p = Path(a)
        files.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    failed = 0
    for f in files:
        problems = validate(f)
        if problems:
            failed += 1
            print(f"INVALID {f}")
            for p in problems:
                print("  " + p.replace("\n", "\n  "))
        else:
            print(f"ok {f}")
    print(f"{len(files) - failed} valid, {failed} invalid")
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
