"""The emulated Shopify, one package per domain of the Admin API.

Each domain holds its records (``models``), the operations that change them (``operations``:
functions that take the :class:`~shopify_emulator.world.World`), the REST payloads its
webhooks carry (``rest``), its GraphQL resolvers and mutations, and its ``/_emulator`` control
routes. Importing a domain's resolver modules registers them (``graphql_api`` imports them).
"""
