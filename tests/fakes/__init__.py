"""Stand-ins for the stack's outside parts, for tests: a fake CLIProxyAPI gateway (`gateway.FakeGateway`)."""
