"""Helm values keys renamed in Cilium 1.19: the old names are ignored (l2podAnnouncements.interface) or go
away in 1.20 (clustermesh.enableMCSAPISupport)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from codemod.cilium import Policy, text_of
from codemod.documents import Mapping, Node, Scalar, deref, to_data
from codemod.edits import Delete, Insert, Op, Replace, ReplaceEntry
from codemod.helm import HELM_VALUES, is_full_copy, lookup, meant_boolean
from codemod.rule import Context, Finding


class HelmRenamedKeys:
    id = "helm-renamed-keys"
    summary = "renamed Helm values: clustermesh.enableMCSAPISupport, l2podAnnouncements.interface"
    fixable = True
    needs_decision = False
    severity = "warning"
    versions = ("1.19", "1.20")
    kinds = (HELM_VALUES,)
    explanation = """
Two values are renamed in Cilium 1.19. `clustermesh.enableMCSAPISupport` becomes
`clustermesh.mcsapi.enabled` (the old key is removed in 1.20). `l2podAnnouncements.interface`, an interface
name, becomes `l2podAnnouncements.interfacePattern`, a regular expression; the old key is ignored from 1.19
on, so the announcements would fall back to the default. The rename keeps the behaviour: the name becomes
the anchored pattern `^name$`. A value already set under the new name is reported instead.
"""
    before = """
clustermesh:
  enableMCSAPISupport: true   # ServiceExport/ServiceImport
l2podAnnouncements:
  enabled: true
  interface: eth1
"""
    after = """
clustermesh:
  mcsapi: {enabled: true}   # ServiceExport/ServiceImport
l2podAnnouncements:
  enabled: true
  interfacePattern: ^eth1$
"""

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        full_copy = is_full_copy(policy.node)
        doc = policy.document.index
        mesh, old = lookup(policy.node, ("clustermesh", "enableMCSAPISupport"))
        if mesh is not None and old is not None and not (full_copy and text_of(old) == "false"):
            yield self._mcsapi(policy, context, mesh, old, doc)
        l2, name = lookup(policy.node, ("l2podAnnouncements", "interface"))
        if l2 is not None and name is not None and text_of(name) is not None \
                and not (full_copy and text_of(name) == "eth0"):  # a copy of 1.18's default
            path = (*policy.path, "l2podAnnouncements", "interface")
            key = l2.key_node("interface")
            assert key is not None
            if l2.get("interfacePattern") is not None:
                yield context.finding(self.id, policy, path, key, "l2podAnnouncements.interface is ignored since "
                                      "Cilium 1.19 and interfacePattern is set too: remove interface")
                return
            pattern = f"^{re.escape(text_of(name) or '')}$"
            yield context.finding(self.id, policy, path, key,
                                  f"l2podAnnouncements.interface is ignored since Cilium 1.19: interfacePattern "
                                  f"{pattern} keeps the same interface",
                                  fix=[ReplaceEntry(doc, path, "interfacePattern", pattern)], fixable=True)

    def _mcsapi(self, policy: Policy, context: Context, mesh: Mapping, old: Node, doc: int) -> Finding:
        path = (*policy.path, "clustermesh", "enableMCSAPISupport")
        key = mesh.key_node("enableMCSAPISupport")
        assert key is not None
        meant = meant_boolean(old)
        value = meant if meant is not None else to_data(old)  # a real boolean, whatever way it was spelled
        mcsapi = deref(mesh.get("mcsapi"))
        message = "clustermesh.enableMCSAPISupport is clustermesh.mcsapi.enabled since Cilium 1.19 (removed in 1.20)"
        fix: list[Op]
        if mcsapi is None:
            fix = [ReplaceEntry(doc, path, "mcsapi", {"enabled": value})]
        elif isinstance(mcsapi, Scalar) and mcsapi.is_null:
            fix = [Delete(doc, path), Replace(doc, (*policy.path, "clustermesh", "mcsapi"), {"enabled": value})]
        elif isinstance(mcsapi, Mapping) and mcsapi.get("enabled") is None:
            fix = [Delete(doc, path), Insert(doc, (*policy.path, "clustermesh", "mcsapi", "enabled"), value)]
        elif isinstance(mcsapi, Mapping):
            return context.finding(self.id, policy, path, key, message + "; mcsapi.enabled is set too: remove "
                                   "enableMCSAPISupport")
        else:
            return context.finding(self.id, policy, path, key, message + "; mcsapi is not a mapping here: set "
                                   "mcsapi.enabled by hand")
        return context.finding(self.id, policy, path, key, message, fix=fix, fixable=True)
