"""Connectors: extract from department systems and land rows as-is in raw_<system>.*"""
