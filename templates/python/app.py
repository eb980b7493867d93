# app.py - a Kernless function in Python: handle() gets the request and returns the body.
def handle(request):
    return "Hello from Python!"
