"""Deploys: the payload shared with the CLI (`wire`), the plan of what changes (`plan`), and
applying it in one transaction (`apply`)."""
