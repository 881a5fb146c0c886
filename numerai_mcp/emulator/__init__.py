"""A local emulator of Numerai's tournament API for the model-upload flow.

`numerai-mcp sandbox` serves GraphQL at `/` (schema.graphql, executed by graphql-core),
a presigned object store at `/_store/`, and a control API at `/_emulator/`. Tests and the
demo start it as a real process with `numerai_mcp.emulator.control.start_emulator`.
"""
