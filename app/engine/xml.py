"""The one hardened XML parser for every model file.

Why: SpiffWorkflow parses with lxml's defaults, so XXE safety would depend on the installed lxml.
We refuse DOCTYPEs and entities outright, never touch the network, cap the size, and hand Spiff
an already-parsed tree.
"""

from __future__ import annotations

import re

from lxml import etree

from app.engine.errors import ModelError

MAX_MODEL_BYTES = 2 * 1024 * 1024
_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def parse_model_xml(content: bytes, filename: str) -> etree._ElementTree:
    """Parse one BPMN/DMN file safely, or raise ModelError with a line number."""
    if len(content) > MAX_MODEL_BYTES:
        raise ModelError(filename, None, f"file is larger than {MAX_MODEL_BYTES // 1024} KB", rule="file-too-large")
    match = _FORBIDDEN.search(content)
    if match:
        line = content.count(b"\n", 0, match.start()) + 1
        raise ModelError(
            filename, line, "DOCTYPE and ENTITY declarations are not allowed in models", rule="xml-doctype"
        )
    try:
        tree = etree.ElementTree(etree.fromstring(content, _parser()))
    except etree.XMLSyntaxError as err:
        raise ModelError(filename, err.lineno, f"not well-formed XML: {err.msg}", rule="xml-not-well-formed") from None
    if tree.docinfo.doctype:
        raise ModelError(filename, 1, "DOCTYPE declarations are not allowed in models", rule="xml-doctype")
    return tree
