"""A tiny, seeded, offline Qwen2 model with a byte-level BPE tokenizer, for backend tests.

The weights are random, except that a few tokens have a scripted successor: the residual stream
is dominated by the token embedding (layer outputs are small next to it), and the ``lm_head`` row of
each scripted successor points along the embedding of its predecessor, so that successor wins by a
margin of about a hundred logits whatever the context, under greedy decoding or sampling at T=1.
From the end of each prompt variant the model therefore writes a fixed, well-formed response:

* after ``<think>`` (the R1-Zero prompt):        `` ok</think> <answer>p - q</answer>``
* after ``<start_deepthink>`` (deepthink prefill): `` hmm</end_deepthink><SOLUTION>\\frac{14}{3}</SOLUTION>``
* after ``</answer>`` (not reached where it is the stop string): `` The final answer is 7``, then
  the end of text, so a chat template that opens ``<think>`` gets a finished, stated answer.

``p - q`` and ``\\frac{14}{3}`` are the gold answers of MATH-500 test problems 1 and 2, so a run on
the first three problems scores exactly 1/3 on accuracy; everything else is random and scores 0.

head_dim is 64 (vLLM's CPU attention accepts it). Building and saving takes a few seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# The text each scripted chain writes after its trigger token (the last token of the prompt).
R1_ZERO_TRIGGER = "<think>"
R1_ZERO_RESPONSE = " ok</think> <answer>p - q</answer>"
DEEPTHINK_TRIGGER = "<start_deepthink>"
DEEPTHINK_RESPONSE = " hmm</end_deepthink><SOLUTION>\\frac{14}{3}</SOLUTION>"
ANSWER_TAIL_TRIGGER = "</answer>"
ANSWER_TAIL = " The final answer is 7"

# Tags that are single (non-special) tokens, so that prompts end on a known token.
TAG_TOKENS = (
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "<start_deepthink>",
    "</end_deepthink>",
    "<SOLUTION>",
    "</SOLUTION>",
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# ChatML whose generation prompt opens the thinking, as DeepSeek-R1-Distill's template does.
THINKING_CHATML_TEMPLATE = CHATML_TEMPLATE.replace("'<|im_start|>assistant\\n'", "'<|im_start|>assistant\\n<think>'")

# Text for the tokenizer besides the problems: the prompt templates and the tags in context.
_EXTRA_CORPUS = [
    "A conversation between User and Assistant. The User asks a question, and the Assistant solves it. "
    "The Assistant first thinks about the reasoning process in the mind and then provides the User with "
    "the answer. The reasoning process is enclosed within <think> </think> and answer is enclosed within "
    "<answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> "
    "<answer> answer here </answer>.\nUser: What is 1+1?\nAssistant: <think>",
    "You are given a math problem. Reason about it step by step between <start_deepthink> and "
    "</end_deepthink>. Then write only the final answer, in simplest form, between <SOLUTION> and </SOLUTION>.",
]
# Repeated so that BPE merges " ok", " q", " hmm": every token of a scripted response is then distinct.
_EXTRA_CORPUS += [R1_ZERO_TRIGGER + R1_ZERO_RESPONSE + ANSWER_TAIL, DEEPTHINK_TRIGGER + DEEPTHINK_RESPONSE] * 50


@dataclass(frozen=True)
class TinyModel:
    """Where the model was saved and the responses it is scripted to write."""

    path: Path
    r1_zero_response: str = R1_ZERO_RESPONSE
    deepthink_response: str = DEEPTHINK_RESPONSE


def _train_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TAG_TOKENS])
    return tok


def _chain(tokenizer, trigger: str, response: str) -> list[int]:
    """Token ids of trigger + response; each must appear once so its successor is unambiguous."""
    ids = [tokenizer.convert_tokens_to_ids(trigger)] + tokenizer.encode(response, add_special_tokens=False)
    if tokenizer.decode(ids[1:], clean_up_tokenization_spaces=False) != response:
        raise AssertionError(f"{response!r} does not round-trip through the tokenizer")
    return ids


def _unprintable_ids(tokenizer) -> list[int]:
    """Special tokens, and tokens whose text alone is not printable (besides space and newline)."""
    special = set(tokenizer.all_special_ids) | {
        tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS
    }
    blocked = []
    for tok_id in range(len(tokenizer)):
        text = tokenizer.decode([tok_id], clean_up_tokenization_spaces=False)
        printable = text and all(c.isprintable() or c in " \n" for c in text) and "\ufffd" not in text
        if tok_id in special or not printable:
            blocked.append(tok_id)
    return blocked


def build_tiny_model(out_dir: Path, corpus: list[str], *, seed: int = 1234, vocab_size: int = 1024) -> TinyModel:
    """Train the tokenizer on ``corpus``, build the seeded model and ``save_pretrained`` both."""
    import torch
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_tokenizer(list(corpus) + _EXTRA_CORPUS, vocab_size),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHATML_TEMPLATE,
        clean_up_tokenization_spaces=False,
        model_max_length=512,
    )
    chains = [
        _chain(tokenizer, R1_ZERO_TRIGGER, R1_ZERO_RESPONSE),
        _chain(tokenizer, DEEPTHINK_TRIGGER, DEEPTHINK_RESPONSE),
        _chain(tokenizer, ANSWER_TAIL_TRIGGER, ANSWER_TAIL) + [tokenizer.eos_token_id],
    ]
    successor: dict[int, int] = {}
    for ids in chains:
        for here, nxt in zip(ids, ids[1:]):
            if successor.setdefault(here, nxt) != nxt:
                raise AssertionError(f"token {tokenizer.convert_ids_to_tokens(here)!r} has two successors")

    vocab = len(tokenizer)
    config = Qwen2Config(
        vocab_size=vocab,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,  # head_dim 64
        num_key_value_heads=1,
        max_position_embeddings=512,
        max_window_layers=2,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        dtype="float32",
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        embed = model.model.embed_tokens.weight
        # Unit-scale embeddings dominate the small (std 0.02) layer outputs, so the last position's
        # hidden state is essentially its own token's embedding.
        embed.copy_(torch.randn(embed.shape, generator=generator))
        # Scripted tokens get orthogonal embeddings, so scripted rows do not compete with each other.
        scripted = sorted(successor)
        basis, _ = torch.linalg.qr(torch.randn(config.hidden_size, len(scripted), generator=generator))
        # Other tokens' embeddings are orthogonal to them, so from any other token the walk stays random.
        embed.sub_(embed @ basis @ basis.T)
        for k, tok_id in enumerate(scripted):
            embed[tok_id] = basis[:, k] * config.hidden_size**0.5
        head = model.lm_head.weight
        # Random rows give logits of std ~4: clear greedy choices, so backends agree on them.
        head.copy_(torch.randn(head.shape, generator=generator) * (4.0 / config.hidden_size**0.5))
        # Special tokens and tokens that are not whole printable characters (lone UTF-8 bytes,
        # control codes) get a zero row: a logit of 0 never beats the best random row (~ +13), so
        # outputs are plain text, decoded alike whether the backend skips special tokens or not.
        for tok_id in _unprintable_ids(tokenizer):
            head[tok_id] = 0.0
        # Logit of a scripted successor: 10 * sqrt(128) ~ 113, against ~15 for the best random row.
        for k, tok_id in enumerate(scripted):
            head[successor[tok_id]] = basis[:, k] * 10.0
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "tiny_model_script.json").write_text(
        json.dumps({"r1_zero": R1_ZERO_RESPONSE, "deepthink": DEEPTHINK_RESPONSE, "seed": seed}, indent=1)
    )
    return TinyModel(path=out_dir)


def with_chat_template(model: TinyModel, out_dir: Path, template: str) -> TinyModel:
    """A copy of ``model`` whose tokenizer has ``template`` as its chat template."""
    import shutil

    from transformers import AutoTokenizer

    shutil.copytree(model.path, out_dir)
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    tokenizer.chat_template = template
    tokenizer.save_pretrained(out_dir)
    return TinyModel(path=Path(out_dir))
