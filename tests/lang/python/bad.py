x = 1

def handle(r:
    return 1
