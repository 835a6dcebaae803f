"""Loads agentd's served OpenAPI document into a real validator.

Usage: python3 validate_openapi.py http://127.0.0.1:PORT/openapi.json
Exits non-zero (with the validator's message) when the document is invalid.
"""
import json
import sys
import urllib.request

from openapi_spec_validator import validate

with urllib.request.urlopen(sys.argv[1]) as resp:
    doc = json.load(resp)
validate(doc)
print("valid OpenAPI", doc["openapi"], "with", len(doc["paths"]), "paths")
