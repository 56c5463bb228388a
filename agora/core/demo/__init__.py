"""Demo data for `manage.py demo`: a plan drawn from per-niche vocabularies, then loaded through the services.

``plan.build_plan`` is pure (same seed, same plan); ``loader.load_plan`` writes it with the same services
a shop owner's clicks go through, so the demo obeys every rule the real data does.
"""
