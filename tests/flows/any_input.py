from hero_tracing import flow


@flow
def main(**given):
    return given
