"""cilium-codemod: find and rewrite the Cilium policy selectors that Cilium 1.19's local-cluster default breaks."""

__version__ = "0.1.0"
