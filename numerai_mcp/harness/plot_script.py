"""Draw an evaluation's pictures with matplotlib (Agg), in the target runtime (trusted code).

Run as `python -I plot_script.py REQUEST.json` by the runtime's interpreter (matplotlib is
pinned in Numerai's images), never imported by the server, so starting the server never loads
matplotlib. The request holds only numbers and labels (per-era CORR of the model and of the
benchmark), never a pickle. Writes two PNGs and a JSON list of what it wrote:
- per_era: per-era CORR as bars, the benchmark's per-era CORR as a line on the same axes;
- cumulative: cumulative CORR of the model and of the benchmark.

Python 3.10 compatible; standard library plus matplotlib.
"""

import json
import os
import sys

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 4.5, 100  # 1000 x 450 pixels


def _axes_labels(axes, eras, title):
    import matplotlib.ticker as ticker

    axes.set_title(title, fontsize=11)
    axes.set_xlabel("era")
    axes.axhline(0.0, color="#444444", linewidth=0.8)
    step = max(1, len(eras) // 12)
    axes.set_xticks(range(0, len(eras), step))
    axes.set_xticklabels([eras[i] for i in range(0, len(eras), step)], rotation=45, ha="right", fontsize=8)
    axes.yaxis.set_major_formatter(ticker.FormatStrFormatter("%.3f"))
    axes.grid(axis="y", alpha=0.3)


def _save(figure, path):
    tmp = path + ".tmp.png"
    figure.savefig(tmp, dpi=DPI, format="png")
    os.replace(tmp, path)


def plot(request):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eras = [str(e) for e in request["eras"]]
    corr = [0.0 if v is None else float(v) for v in request["corr"]]
    bench = request.get("benchmark_corr")
    bench_name = request.get("benchmark_name") or "benchmark"
    label = request.get("label") or "model"
    suffix = " (synthetic data)" if request.get("synthetic") else ""
    source = request.get("source") or "Validation"
    positions = list(range(len(eras)))
    bench_values = [0.0 if v is None else float(v) for v in bench] if bench else None

    def per_era(axes):
        colours = ["#2b8a3e" if v >= 0 else "#c92a2a" for v in corr]
        axes.bar(positions, corr, color=colours, width=0.85, label=label + " CORR")
        if bench_values:
            axes.plot(positions, bench_values, color="#1c7ed6", linewidth=1.2,
                      marker="." if len(eras) <= 60 else None, label=bench_name + " CORR")

    def cumulative(axes):
        axes.plot(positions, _cumulative(corr), color="#2b8a3e", linewidth=1.8, label=label)
        if bench_values:
            axes.plot(positions, _cumulative(bench_values), color="#1c7ed6", linewidth=1.4, linestyle="--",
                      label=bench_name)

    written = {
        "per_era": _figure(plt, per_era, eras, source + " CORR per era" + suffix, "CORR",
                           os.path.join(request["out_dir"], "corr_per_era.png")),
        "cumulative": _figure(plt, cumulative, eras, source + " cumulative CORR" + suffix, "cumulative CORR",
                              os.path.join(request["out_dir"], "corr_cumulative.png")),
    }
    return {"written": written, "width": int(WIDTH_IN * DPI), "height": int(HEIGHT_IN * DPI)}


def _figure(plt, draw, eras, title, ylabel, path):
    figure, axes = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN))
    try:
        draw(axes)
        _axes_labels(axes, eras, title)
        axes.set_ylabel(ylabel)
        axes.legend(loc="best", fontsize=8)
        figure.tight_layout()
        _save(figure, path)
    finally:
        plt.close(figure)
    return path


def _cumulative(values):
    total, out = 0.0, []
    for value in values:
        total += value
        out.append(total)
    return out


def main(argv):
    if len(argv) != 2:
        print("usage: python -I plot_script.py REQUEST.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        request = json.load(handle)
    try:
        result = plot(request)
    except Exception as exc:
        import traceback

        traceback.print_exc()
        result = {"error": "%s: %s" % (type(exc).__name__, str(exc)[:500])}
    with open(request["out"], "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
