"""The engine: the findings model, the check graph and its runner (deadline, crashes, skips), the run
context, diagnose, the fix planner, the JSON schema. Knows no stack, no terminal, no argparse; never
imports the catalog (diagnose is given it)."""
