"""config.yaml and the env file: parsing, the facts checks and primitives share (StackFiles), edits that
keep comments (set-env, set-config), and the templates bootstrap writes."""
