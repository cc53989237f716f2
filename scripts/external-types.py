#!/usr/bin/env python3
"""The third-party types a crate's public API exposes, from rustdoc's JSON
(`cargo +nightly rustdoc -p CRATE -- -Z unstable-options --output-format json`),
checked against an allow-list: the job of `cargo check-external-types`,
which pins one nightly's JSON format, done for whichever nightly is here.

Usage: external-types.py TARGET/doc/CRATE.json ALLOWED_CRATE...
Exit 1, listing each exposure (item and type), when a crate not allowed
appears in a public signature, field, trait bound or trait implemented.
"""
import json
import sys

doc = json.load(open(sys.argv[1]))
allowed = set(sys.argv[2:]) | {"std", "core", "alloc"}
index, paths, external = doc["index"], doc["paths"], doc["external_crates"]
found = {}


def crate_of(item_id):
    entry = paths.get(str(item_id))
    if entry is None:
        return None
    if entry["crate_id"] == 0:
        return None
    return external.get(str(entry["crate_id"]), {}).get("name")


def walk_type(node, where):
    """Every path a type names: `resolved_path`s, `dyn` and `impl` traits."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("resolved_path", "trait") and isinstance(value, dict) and "id" in value:
                crate = crate_of(value["id"])
                if crate and crate not in allowed:
                    found.setdefault(crate, set()).add(f"{where}: {value.get('path')}")
            walk_type(value, where)
    elif isinstance(node, list):
        for value in node:
            walk_type(value, where)


seen = set()


def visit(item_id, where):
    if item_id in seen or str(item_id) not in index:
        return
    seen.add(item_id)
    item = index[str(item_id)]
    if item["crate_id"] != 0:
        return
    name = item.get("name") or ""
    here = (f"{where}::{name}" if where else name) if name else where
    inner = item["inner"]
    (kind, body), = inner.items()
    if kind == "module":
        for child in body["items"]:
            visit(child, here)
    elif kind == "use":
        if body.get("id") is not None:
            visit(body["id"], where)
    elif kind in ("function",):
        walk_type(body["sig"], here)
        walk_type(body["generics"], here)
    elif kind == "struct":
        walk_type(body["generics"], here)
        fields = body["kind"]
        if isinstance(fields, dict):
            for field_ids in fields.values():
                if isinstance(field_ids, dict):
                    field_ids = field_ids.get("fields", [])
                for field in field_ids or []:
                    if field is not None:
                        visit(field, here)
        for impl in body["impls"]:
            visit(impl, here)
    elif kind == "enum":
        walk_type(body["generics"], here)
        for variant in body["variants"]:
            visit(variant, here)
        for impl in body["impls"]:
            visit(impl, here)
    elif kind == "variant":
        walk_type(body["kind"], here)
        for field_ids in (body["kind"] or {}).values() if isinstance(body["kind"], dict) else []:
            if isinstance(field_ids, dict):
                field_ids = field_ids.get("fields", [])
            for field in field_ids or []:
                if field is not None:
                    visit(field, here)
    elif kind == "struct_field":
        if item["visibility"] == "public" or "::" in where:
            walk_type(body, here)
    elif kind == "impl":
        if body.get("blanket_impl") is not None or body.get("is_synthetic"):
            return
        trait = body.get("trait")
        if trait:
            crate = crate_of(trait["id"])
            if crate and crate not in allowed:
                found.setdefault(crate, set()).add(f"{where}: impl {trait.get('path')}")
        walk_type(body["generics"], where)
        for child in body["items"]:
            child_item = index.get(str(child))
            if child_item and (trait or child_item["visibility"] == "public"):
                visit(child, where)
    elif kind == "trait":
        walk_type(body["generics"], here)
        walk_type(body["bounds"], here)
        for child in body["items"]:
            visit(child, here)
    elif kind in ("type_alias", "constant", "static", "assoc_type", "assoc_const"):
        walk_type(body, here)


root = doc["root"]
visit(root, "")
if found:
    for crate in sorted(found):
        print(f"{crate} in the public API:")
        for place in sorted(found[crate]):
            print(f"  {place}")
    sys.exit(1)
print(f"no third-party type outside {sorted(allowed - {'std', 'core', 'alloc'})} in the public API")
