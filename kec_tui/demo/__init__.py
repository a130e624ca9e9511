"""The demo co-op: a deterministic North Idaho cooperative for trying kec-tui, training and benchmarks.

Built straight into the tables for speed (1,000,000 accounts in minutes), with
the domain's own rules (services: fees, search index, the tax-ID match key, the
return codes) so that what it builds is what the services would have written.
"""
from kec_tui.demo.builder import DemoSummary, build_demo

__all__ = ["DemoSummary", "build_demo"]
