"""A small, strict kustomize build in pure Python (no kustomize binary in CI).

It implements exactly the subset infra/k8s uses and refuses anything else, so a kustomization
field it does not know fails the test instead of being silently ignored:

- ``resources`` (files or directories with a kustomization), ``components`` (kind Component,
  with resources and patches of their own);
- ``namespace`` (set on namespaced objects only), ``labels`` (pairs; includeSelectors false);
- ``patches``: a ``path`` to a strategic-merge patch (matched by kind and name), or an inline
  JSON 6902 ``patch`` with a ``target`` (kind, name, labelSelector ``k=v[,k=v]``);
- ``images`` (name -> newName/newTag on containers and initContainers).

Order as in kustomize: resources, then components, then this level's own transformers.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]

KNOWN_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "components",
    "namespace",
    "labels",
    "patches",
    "images",
}
# Built-in cluster-scoped kinds (kustomize treats an unknown kind, a CRD's, as namespaced).
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "IngressClass",
    "PriorityClass",
    "StorageClass",
}
# Strategic-merge keys for the lists a patch here may touch; any other list is replaced.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
}


class KustomizeError(ValueError):
    pass


def load_docs(path: Path) -> list[Doc]:
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc:
            raise KustomizeError(f"{path}: every document needs a kind")
    return docs


def build(directory: Path) -> list[Doc]:
    """The objects ``kustomize build directory`` would print (as dicts)."""
    kfile = directory / "kustomization.yaml"
    if not kfile.is_file():
        raise KustomizeError(f"{directory}: no kustomization.yaml")
    spec = yaml.safe_load(kfile.read_text())
    unknown = set(spec) - KNOWN_FIELDS
    if unknown:
        raise KustomizeError(f"{kfile}: unsupported fields {sorted(unknown)}")
    if spec.get("kind") != "Kustomization":
        raise KustomizeError(f"{kfile}: kind must be Kustomization")
    objects: list[Doc] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        objects.extend(build(path) if path.is_dir() else load_docs(path))
    for entry in spec.get("components", []):
        objects = apply_component(objects, (directory / entry).resolve())
    return _transform(objects, spec, directory)


def apply_component(objects: list[Doc], directory: Path) -> list[Doc]:
    kfile = directory / "kustomization.yaml"
    spec = yaml.safe_load(kfile.read_text())
    if spec.get("kind") != "Component":
        raise KustomizeError(f"{kfile}: kind must be Component")
    unsupported = set(spec) - {"apiVersion", "kind", "resources", "patches", "images", "labels"}
    if unsupported:
        raise KustomizeError(f"{kfile}: unsupported fields in a component {sorted(unsupported)}")
    added: list[Doc] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        added.extend(build(path) if path.is_dir() else load_docs(path))
    return _transform(objects + added, spec, directory)


def _transform(objects: list[Doc], spec: Doc, directory: Path) -> list[Doc]:
    objects = copy.deepcopy(objects)
    for patch in spec.get("patches", []):
        objects = _apply_patch(objects, patch, directory)
    for label in spec.get("labels", []):
        if label.get("includeSelectors", False):
            raise KustomizeError("labels with includeSelectors are not supported here")
        for obj in objects:
            obj.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    namespace = spec.get("namespace")
    if namespace:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = namespace
    for image in spec.get("images", []):
        for obj in objects:
            for container in _containers(obj):
                _set_image(container, image)
    _check_unique(objects)
    return objects


def _apply_patch(objects: list[Doc], patch: Doc, directory: Path) -> list[Doc]:
    if "path" in patch:
        body = yaml.safe_load((directory / patch["path"]).read_text())
        target = patch.get("target") or {
            "kind": body["kind"],
            "name": body["metadata"]["name"],
        }
        matched = [obj for obj in objects if _matches(obj, target)]
        if not matched:
            raise KustomizeError(f"{directory}: patch {patch['path']} matches nothing")
        for obj in matched:
            merged = strategic_merge(obj, body)
            obj.clear()
            obj.update(merged)
        return objects
    operations = yaml.safe_load(patch["patch"])
    if not isinstance(operations, list):
        raise KustomizeError(f"{directory}: inline patches must be JSON 6902 operation lists")
    matched = [obj for obj in objects if _matches(obj, patch["target"])]
    if not matched:
        raise KustomizeError(f"{directory}: patch target {patch['target']} matches nothing")
    for obj in matched:
        for operation in operations:
            json_patch(obj, operation)
    return objects


def _matches(obj: Doc, target: Doc) -> bool:
    meta = obj.get("metadata", {})
    if "kind" in target and obj["kind"] != target["kind"]:
        return False
    if "name" in target and meta.get("name") != target["name"]:
        return False
    if "labelSelector" in target:
        have = meta.get("labels", {})
        for pair in target["labelSelector"].split(","):
            key, _, value = pair.partition("=")
            if have.get(key.strip()) != value.strip():
                return False
    return True


def strategic_merge(base: Any, patch: Any, key: str = "") -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        if "$patch" in patch:
            raise KustomizeError("$patch directives are not supported here")
        out = dict(base)
        for name, value in patch.items():
            out[name] = strategic_merge(base[name], value, name) if name in base else value
        return out
    if isinstance(base, list) and isinstance(patch, list) and key in MERGE_KEYS:
        merge_key = MERGE_KEYS[key]
        out_list = list(base)
        for item in patch:
            index = next(
                (i for i, have in enumerate(out_list) if have.get(merge_key) == item[merge_key]),
                None,
            )
            if index is None:
                out_list.append(item)
            else:
                out_list[index] = strategic_merge(out_list[index], item)
        return out_list
    return patch


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise KustomizeError(f"JSON pointer {path!r} must start with /")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def json_patch(obj: Doc, operation: Doc) -> None:
    """RFC 6902 add / replace / remove (the operations infra/k8s uses)."""
    op = operation["op"]
    *parents, last = _pointer(operation["path"])
    node: Any = obj
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if op == "add":
        if isinstance(node, list):
            node.insert(len(node) if last == "-" else int(last), operation["value"])
        else:
            node[last] = operation["value"]
    elif op == "replace":
        if isinstance(node, list):
            node[int(last)] = operation["value"]
        else:
            if last not in node:
                raise KustomizeError(f"replace {operation['path']}: no such member")
            node[last] = operation["value"]
    elif op == "remove":
        if isinstance(node, list):
            del node[int(last)]
        else:
            del node[last]
    else:
        raise KustomizeError(f"JSON patch op {op!r} is not supported here")


def _containers(obj: Doc) -> list[Doc]:
    spec = obj.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    return [*pod.get("containers", []), *pod.get("initContainers", [])]


def _set_image(container: Doc, image: Doc) -> None:
    name, _, _tag = container["image"].partition(":")
    if name != image["name"]:
        return
    new_name = image.get("newName", name)
    new_tag = image.get("newTag", _tag)
    container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name


def _check_unique(objects: list[Doc]) -> None:
    seen: set[tuple[str, str, str]] = set()
    for obj in objects:
        meta = obj.get("metadata", {})
        ident = (obj["kind"], meta.get("namespace", ""), meta.get("name", ""))
        if ident in seen:
            raise KustomizeError(f"duplicate object {ident}")
        seen.add(ident)
