"""Reading the YAML files under config/ (other than the item files): file:line errors, the calendar."""
