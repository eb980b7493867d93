# greet.py - a module of the function's own folder, imported as lib.greet.
def greet(who):
    return f"héllo {who} ✓"
