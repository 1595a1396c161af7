def evaluate(*a, **k): pass
