"""PNG plots for the model card: training history, confusion matrix, ROC curve."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from training.metrics import confusion, roc_auc, roc_curve  # noqa: E402


def plot_history(history: list[dict], path: Path) -> Path:
    fig, (ax_loss, ax_auc) = plt.subplots(1, 2, figsize=(10, 4))
    x = np.arange(1, len(history) + 1)
    for key, style in (("train_loss", "-"), ("val_loss", "--")):
        ax_loss.plot(x, [h[key] for h in history], style, label=key.replace("_", " "))
    ax_auc.plot(x, [h["val_acc"] for h in history], label="val accuracy (t=0.5)")
    ax_auc.plot(x, [h["val_auc"] for h in history], label="val ROC AUC")
    n_head = sum(1 for h in history if h["phase"] == "head")
    for ax in (ax_loss, ax_auc):
        if 0 < n_head < len(history):
            ax.axvline(n_head + 0.5, color="grey", lw=0.8)
            ax.text(n_head + 0.7, ax.get_ylim()[1], "fine-tune", va="top", fontsize=8)
        ax.set_xlabel("epoch (head, then fine-tune)")
        ax.legend()
        ax.grid(alpha=0.3)
    ax_loss.set_title("loss")
    ax_auc.set_title("validation")
    return _save(fig, path)


def plot_confusion(y: np.ndarray, p: np.ndarray, threshold: float, path: Path) -> Path:
    cm = np.array(confusion(y, p, threshold))
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(cm, cmap="Blues")
    for i in range(2):
        for j in range(2):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black", fontsize=14)
    ax.set_xticks([0, 1], ["NORMAL", "PNEUMONIA"])
    ax.set_yticks([0, 1], ["NORMAL", "PNEUMONIA"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth")
    ax.set_title(f"confusion matrix (threshold {threshold:.3f})")
    return _save(fig, path)


def plot_roc(y: np.ndarray, p: np.ndarray, points: list[dict], path: Path) -> Path:
    fpr, tpr, _ = roc_curve(y, p)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"ROC (AUC {roc_auc(y, p):.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    yb = np.asarray(y).astype(bool)
    for op in points:
        pred = p >= op["threshold"]
        ax.plot((pred & ~yb).sum() / max(1, (~yb).sum()), (pred & yb).sum() / max(1, yb.sum()),
                "o", label=f"{op['name']} (t={op['threshold']:.3f})")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title("ROC")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def save_plots(meta: dict, y: np.ndarray, p: np.ndarray, out_dir: Path,
               history: list[dict]) -> list[Path]:
    out_dir = Path(out_dir)
    paths = [plot_confusion(y, p, float(meta["threshold"]), out_dir / "confusion_matrix.png"),
             plot_roc(y, p, meta["operating_points"], out_dir / "roc.png")]
    if history:
        paths.insert(0, plot_history(history, out_dir / "history.png"))
    return paths


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path
