"""The catalog: topics, the templates file and the supply-chain node vocabulary."""
