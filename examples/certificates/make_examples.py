"""Regenerate the example triples (model, certificate, expected verdict), corrupted certificates included.

    PYTHONPATH=. python examples/certificates/make_examples.py

Writes model.safetensors (digits_mlp trained 2 epochs on digits:train, seeded), certificates for
test_set.binomial_tail, test_set.kl_chernoff (on digits:test) and norm.neyshabur2015_frobenius_multiclass (on
digits:train), corrupted copies, and expected.json: file -> expected first line of `certify check`.
"""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    import torch
    from safetensors.torch import save_file

    from certify import certify, load_builtin
    from certify.checker import check
    from certify.jobs.demo import train_classifier
    from certify.models.zoo import digits_mlp
    from theorems import parse_exact

    torch.manual_seed(0)
    model = train_classifier(digits_mlp(), load_builtin("digits", "train"), epochs=2, progress=False)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(HERE / "model.safetensors"))
    model_file = str(HERE / "model.safetensors")
    expected: dict[str, str] = {}
    certs = {}
    for name, tid, data in (("binomial_tail", "test_set.binomial_tail", "digits:test"),
                            ("kl_chernoff", "test_set.kl_chernoff", "digits:test"),
                            ("norm_frobenius", "norm.neyshabur2015_frobenius_multiclass", "digits:train")):
        cmd = f"certify run examples/certificates/model.safetensors --data {data} --theorem {tid} --delta 0.05 " \
              "--arch certify.zoo:digits_mlp"
        c = certify(model_file, data, theorem=tid, delta="0.05", arch="certify.zoo:digits_mlp", reproduce=cmd)
        certs[name] = c.to_dict()
    bad = copy.deepcopy(certs["binomial_tail"])
    bad["result"]["hi"] = str(Fraction(bad["result"]["hi"]) * Fraction(999, 1000))
    weak = copy.deepcopy(certs["binomial_tail"])
    weak["result"]["hi"] = "0.5"
    weak["result"].pop("hi_exact")  # a weaker claim: hi raised (the exact end dropped with it), the words with it
    weak["claim"] = weak["claim"].replace(f"at most {weak['claim'].rsplit(' ', 1)[1][:-1]}.", "at most 0.5.")
    wit = copy.deepcopy(certs["kl_chernoff"])
    wit["witnesses"][0]["hi"] = wit["witnesses"][0]["lo"]
    widened = copy.deepcopy(certs["norm_frobenius"])
    widened["inputs"]["prod_frob"]["hi"] = str(parse_exact(widened["inputs"]["prod_frob"]["hi"]) * 2)
    delta = copy.deepcopy(certs["binomial_tail"])
    delta["delta"]["total"] = delta["delta"]["split"][0]["delta"] = "0.01"
    all_certs = {**certs, "corrupt_result_hi_lowered": bad, "weakened_result_hi_raised": weak,
                 "corrupt_witness_hi_moved": wit, "corrupt_input_widened": widened, "corrupt_delta_changed": delta}
    for name, c in all_certs.items():
        path = HERE / f"{name}.json"
        path.write_text(json.dumps(c, indent=2, sort_keys=True) + "\n")
        expected[path.name] = check(str(path), model=model_file).verdict
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    print(json.dumps(expected, indent=2))


if __name__ == "__main__":
    main()
