class ExtractionError(ValueError): pass
def extract(*a, **k): raise ExtractionError
