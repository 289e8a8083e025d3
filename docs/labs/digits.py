# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     name: python3
#     display_name: Python 3
#     language: python
# ---

# %% [markdown]
# # Lab: handwritten digits, end to end
#
# In this lab you train a network on real data from start to finish: load the handwritten
# digits that ship with scikit-learn, look at them, set a baseline, train a multilayer
# perceptron and a small CNN with `coursekit.training.train.fit` (once more with this book's
# own optimizer and early stopping), and read the results: the validation and test
# accuracies, the loss curves and the mistakes. The whole notebook runs in seconds on a laptop
# CPU; it was executed when this site was built, so the outputs below are real.
#
# The chapter [Training a network](../../training/training-a-network/) explains each piece.
# Download this notebook (the button above) and change things: the exercises at the end say
# what to try.

# %%
import matplotlib.pyplot as plt
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix

from coursekit.blocks.optimizers import AdamW
from coursekit.training.data import load_digits
from coursekit.training.models import MLP, DigitsCNN
from coursekit.training.train import evaluate, fit

# Transparent plots: the page's light or dark background shows through.
plt.rcParams.update({"figure.facecolor": "none", "axes.facecolor": "none"})

# %% [markdown]
# ## The data
#
# 1,797 images of 8x8 pixels, 17 grey levels, scaled to [0, 1]. `load_digits` splits them
# 75/25, stratified, the same way every time, and `val_size=0.2` splits a validation set off
# the training part: the curves and every choice below use it, and the test set is used once,
# at the end.

# %%
train, val, test = load_digits(test_size=0.25, seed=0, val_size=0.2)
x_train, y_train = train.tensors
x_test, y_test = test.tensors
print(f"train: {tuple(x_train.shape)}, validation: {len(val)}, "
      f"test: {tuple(x_test.shape)}")
print("images per digit in the training set:", torch.bincount(y_train).tolist())

# Figures at most 4.5 inches wide, so that their text stays readable on a phone.
fig, axes = plt.subplots(3, 6, figsize=(4.5, 2.9))
for ax, image, label in zip(axes.flat, x_train, y_train, strict=False):  # the first 18
    ax.imshow(image[0], cmap="gray_r")
    ax.set_title(int(label))
    ax.axis("off")
plt.show()

# %% [markdown]
# ## A baseline to beat
#
# Before any network: a logistic regression on the 64 pixel values.

# %%
baseline = LogisticRegression(max_iter=2000)
baseline.fit(x_train.reshape(len(x_train), -1), y_train)
x_val, y_val = val.tensors
baseline_accuracy = baseline.score(x_val.reshape(len(x_val), -1), y_val)
print(f"logistic regression validation accuracy: {baseline_accuracy:.4f}")

# %% [markdown]
# ## A multilayer perceptron
#
# `MLP([64, 256, 10])` flattens each image and applies two linear layers with a ReLU between
# them. `fit` runs the training loop (here AdamW for 10 epochs, batches of 32, a cosine
# learning-rate schedule) and returns the loss and accuracy of every epoch.

# %%
torch.manual_seed(0)
mlp = MLP([64, 256, 10])
mlp_history = fit(mlp, train, epochs=10, batch_size=32, lr=0.01, optimizer="adamw",
                  lr_schedule="cosine", val_data=val, progress=False)
print(f"MLP validation accuracy: {mlp_history['val_accuracy'][-1]:.4f}")

# %% [markdown]
# ## A small CNN
#
# `DigitsCNN` looks at neighbourhoods of pixels: two 3x3 convolutions, each with batch
# normalization, a ReLU and 2x2 max-pooling, then dropout and a linear layer. These are the
# settings that `coursekit train --model digits-cnn --data digits` uses (on all the training
# images; here the validation images are held out).

# %%
torch.manual_seed(0)
cnn = DigitsCNN()
cnn_history = fit(cnn, train, epochs=10, batch_size=64, lr=0.005, optimizer="adamw",
                  lr_schedule="cosine", val_data=val, progress=False)
print(f"CNN validation accuracy: {cnn_history['val_accuracy'][-1]:.4f}")

# %% [markdown]
# ## The same CNN with this book's building blocks
#
# The [Building blocks](../../blocks/optimizers/) part writes the optimizers from their update
# rules: `coursekit.blocks.optimizers.AdamW` is a `torch.optim.Optimizer` of our own, equal to
# PyTorch's step for step, so `fit` takes it as it takes any optimizer. And instead of a fixed
# number of epochs, [early stopping](../../blocks/regularization/) watches the validation loss:
# with `patience=3`, `fit` stops after three epochs in a row without a new best and puts the
# best epoch's weights back.

# %%
torch.manual_seed(0)
cnn_blocks = DigitsCNN()
blocks_history = fit(cnn_blocks, train, epochs=40, batch_size=64, lr=0.005,
                     optimizer=AdamW, val_data=val, patience=3, progress=False)
best_epoch = min(range(len(blocks_history["val_loss"])),
                 key=blocks_history["val_loss"].__getitem__)
print(f"stopped after {len(blocks_history['loss'])} of 40 epochs; "
      f"best validation loss at epoch {best_epoch + 1}")
kept_accuracy = evaluate(cnn_blocks, val)["accuracy"]
print(f"validation accuracy of the weights kept: {kept_accuracy:.4f}")

# %% [markdown]
# ## Loss curves
#
# The training loss is the mean over each epoch's batches, measured in train mode while the
# weights change; the validation loss is measured after each epoch, in eval mode, on images the
# optimizer never sees. The training loss should fall; a validation loss that turns back up
# while the training loss keeps falling is overfitting.

# %%
fig, ax = plt.subplots(figsize=(4.5, 3.2))
for name, history in [("MLP", mlp_history), ("CNN", cnn_history)]:
    epochs = range(1, len(history["loss"]) + 1)
    line, = ax.plot(epochs, history["loss"], label=f"{name} training")
    ax.plot(epochs, history["val_loss"], "--", color=line.get_color(),
            label=f"{name} validation")
ax.set(xlabel="epoch", ylabel="cross entropy", yscale="log", title="Loss per epoch")
ax.legend()
plt.show()

# %% [markdown]
# ## The mistakes
#
# The model to keep is the one with the best validation accuracy (the summary at the end lists
# them); the CNN's test accuracy, measured once, is the number to report for it. The confusion
# matrix counts, for each true digit (row), which digit the CNN predicted
# (column); everything off the diagonal is an error. Then the misclassified images themselves.

# %%
cnn.eval()
with torch.no_grad():
    predicted = cnn(x_test).argmax(1)
cnn_scores = evaluate(cnn, test)
print(f"CNN test accuracy: {cnn_scores['accuracy']:.4f} "
      f"(test loss {cnn_scores['loss']:.4f})")
print(confusion_matrix(y_test, predicted))

wrong = torch.nonzero(predicted != y_test).flatten()
print(f"{len(wrong)} of {len(y_test)} test images misclassified")
if len(wrong):
    columns = min(len(wrong), 4)
    rows = -(-len(wrong) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.1 * columns, 1.5 * rows),
                             squeeze=False)
    for ax in axes.flat[len(wrong):]:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong, strict=False):
        ax.imshow(x_test[i, 0], cmap="gray_r")
        ax.set_title(f"{int(y_test[i])} as {int(predicted[i])}", fontsize=10)
        ax.axis("off")
    plt.show()

# %% [markdown]
# ## Summary
#
# The validation accuracies choose the model; the test set is not used to choose.

# %%
summary = {
    "logistic regression": baseline_accuracy,
    "MLP": mlp_history["val_accuracy"][-1],
    "DigitsCNN": cnn_history["val_accuracy"][-1],
    "DigitsCNN, our AdamW, early stopping": kept_accuracy,
}
for name, accuracy in summary.items():
    print(f"{name:>37}: {accuracy:.4f} validation accuracy")

# %% [markdown]
# ## Exercises
#
# 1. Train the CNN with the lecture's optimizer, `optimizer="sgd"` (momentum 0.9), and
#    `lr=0.05`. How many epochs does it need to match AdamW?
# 2. Remove the cosine schedule (`lr_schedule="constant"`). What happens to the last epochs'
#    validation loss?
# 3. Train on only 10% of the training set (`torch.utils.data.Subset`). Which model suffers
#    more, the MLP or the CNN? Why would that be?
# 4. Run the same training from a terminal, with a progress bar, a checkpoint and
#    `metrics.json`: `coursekit train --model digits-cnn --data digits`. Stop it with Ctrl-C
#    in the middle and add `--resume`.
