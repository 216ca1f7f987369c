"""Typed Admin API operations, one module per Shopify domain.

Each function takes an `AdminSession` and typed keyword arguments, builds the variables for one
document in `syncer/shopify/documents/`, and returns dataclasses or raises a typed error from
`syncer.shopify.errors`. Domain code never builds GraphQL variables or digs into response dicts.
"""
