"""Opening a semester: create it, carry continuing plans over, invite schools with a template."""
