"""What tests and benchmarks drive the appliance with: SIP peers (kamailio, sipp, baresip), speech clips, free
ports. Never imported by the product (an import-linter contract in pyproject.toml says so)."""
