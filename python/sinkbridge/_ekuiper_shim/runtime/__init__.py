"""``ekuiper.runtime``: what the SDK's plugins import from it."""
