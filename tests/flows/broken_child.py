from hero_tracing import flow

@flow
def main():
    raise ValueError('no stock left')
