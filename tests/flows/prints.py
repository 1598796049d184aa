from hero_tracing import flow

@flow
def main(lines: int, long: int):
    for i in range(lines):
        print(f"line {i:04} " + "." * 40)
    print("L" * long)
    return "printed"
