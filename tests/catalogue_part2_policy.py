"""Mutation catalogue for Part 2.4 (the diffusion policy): realistic mistakes (each must
fail exactly the listed checks) and valid alternative formulations (each must get full
marks). Every edit is a text replacement in source/hw4/part2_diffusion/diffusion_policy.py.
"""
from __future__ import annotations

from tests.mutants import Edit, Mutant, Variant, mutant, variant

DP = "part2_diffusion/diffusion_policy.py"

P = "part2_4."
FILM = {P + "film.conv_skip", P + "film.identity_skip", P + "film.hidden"}
PAIRS = {P + "pairs.h4", P + "pairs.h6_hidden"}
ROLLOUT_RUNS = {P + "rollout.partial_chunk", P + "rollout.every_step", P + "rollout.whole_chunk_hidden"}
TOO_SHORT = {P + "rollout.chunk_too_short"}
OUTCOME = {P + "outcome.cases", P + "outcome.random", P + "outcome.random_hidden"}

FILM_LINE = "h = (1 + gamma[:, :, None]) * h + beta[:, :, None]"
CHUNKS_LINE = "chunks = padded.unfold(1, horizon, 1).transpose(2, 3).reshape(n * steps, horizon, 2)"
PAD_LINE = "padded = torch.cat([actions, actions.new_zeros(n, horizon - 1, 2)], dim=1)"
STEP_LINE = "position = position + chunk[:, step % execute_steps]"
SUCCESS_LINE = "success = first_reach < first_hit"
COLLIDED_LINE = "collided = (first_hit < never) & (first_hit <= first_reach)"

MUTANTS: list[Mutant] = [
    # --- FiLMResBlock1D.forward
    mutant("film_without_one_plus", DP, FILM_LINE, "h = gamma[:, :, None] * h + beta[:, :, None]", FILM,
           why="FiLM as gamma * h + beta: a zero-initialised layer then wipes out the features"),
    mutant("film_gamma_beta_swapped", DP, "gamma, beta = self.film(cond).chunk(2, dim=1)",
           "beta, gamma = self.film(cond).chunk(2, dim=1)", FILM, why="shift first, scale second",
           says=("only the conditioned output differs",), never=("Yours differs there too",)),
    mutant("film_after_second_conv", DP,
           FILM_LINE + "\n        # 3. second convolution, then the residual connection\n"
                       "        h = F.mish(self.norm2(self.conv2(h)))",
           "# 3. second convolution, then the residual connection\n"
           "        h = F.mish(self.norm2(self.conv2(h)))\n        " + FILM_LINE, FILM,
           why="the conditioning applied after the second convolution instead of between the two"),
    mutant("film_no_residual", DP, "return self.skip(x) + h", "return h", FILM, why="the residual connection forgotten"),
    mutant("film_relu", DP, "h = F.mish(self.norm1(self.conv1(x)))", "h = F.relu(self.norm1(self.conv1(x)))", FILM,
           why="ReLU where the contract says Mish", says=("Yours differs there too",),
           never=("only the conditioned output differs",)),
    mutant("film_scale_over_time_axis", DP, FILM_LINE, "h = (1 + gamma[:, None, :]) * h + beta[:, None, :]", FILM,
           why="the scale broadcast over the wrong axis (fails with a shape error)"),
    # --- make_training_pairs
    mutant("pairs_pad_with_last_action", DP, PAD_LINE,
           "padded = torch.cat([actions, actions[:, -1:].expand(n, horizon - 1, 2)], dim=1)", PAIRS,
           why="the expert keeps moving after the end: the last action repeated",
           says=("pad with zero actions",)),
    mutant("pairs_positions_not_actions", DP, CHUNKS_LINE,
           CHUNKS_LINE + "\n    chunks = chunks.cumsum(dim=1)", PAIRS,
           why="chunks of positions relative to the chunk's start instead of per-step actions",
           says=("not positions relative to the start of the chunk",), never=("pad with zero actions",)),
    mutant("pairs_obs_after_step", DP, "starts = positions[:, :-1].reshape(n * steps, 2)",
           "starts = positions[:, 1:].reshape(n * steps, 2)", PAIRS,
           why="the observation taken after the first action instead of before it"),
    mutant("pairs_time_major", DP, CHUNKS_LINE,
           "chunks = padded.unfold(1, horizon, 1).transpose(2, 3).transpose(0, 1).reshape(n * steps, horizon, 2)",
           PAIRS, why="rows ordered time by time instead of demonstration by demonstration"),
    # --- rollout
    mutant("rollout_executes_from_second_action", DP, STEP_LINE,
           "position = position + chunk[:, step % execute_steps + 1]", ROLLOUT_RUNS,
           why="skips the first action of every chunk (the one planned for the current state)",
           says=("execute the first execute_steps actions of each chunk in order",), never=("plan each chunk",)),
    mutant("rollout_moves_the_start", DP, "position = scenes.start.clone()\n    visited = [position]",
           "position = scenes.start\n    visited = [position.clone()]", ROLLOUT_RUNS,
           more=(Edit(DP, "position = position + chunk[:, step % execute_steps]\n        visited.append(position)",
                      "position += chunk[:, step % execute_steps]\n        visited.append(position.clone())"),),
           why="`position += action` on scenes.start itself: the positions are right but the scenes' start moves",
           says=("scenes.start was changed",)),
    mutant("rollout_stale_observation", DP, "chunk = policy(push_task.observe(position, scenes))",
           "chunk = policy(push_task.observe(scenes.start, scenes))",
           ROLLOUT_RUNS,
           why="every chunk planned from the start position",
           says=("plan each chunk from the observation of the current position",)),
    mutant("rollout_drops_partial_chunk", DP, "for step in range(num_steps):",
           "for step in range(num_steps // execute_steps * execute_steps):", {P + "rollout.partial_chunk"},
           why="the last, partly executed chunk forgotten when num_steps is not a multiple of execute_steps"),
    mutant("rollout_no_length_check", DP,
           "            if chunk.shape[1] < execute_steps:\n"
           "                raise ValueError(f\"chunks of {chunk.shape[1]} actions cannot execute {execute_steps}\")\n",
           "", TOO_SHORT, why="no check of the chunk length (an IndexError deep in the loop)"),
    # --- episode_outcome
    mutant("outcome_ignores_order", DP, SUCCESS_LINE,
           "success = (first_reach < never) & (first_hit == never)", {P + "outcome.cases"},
           why="any collision fails the episode, even after the goal was reached",
           says=("an episode ends at its first event",)),
    mutant("outcome_last_position_only", DP, SUCCESS_LINE,
           "success = reached[:, -1] & (first_reach < first_hit)", OUTCOME,
           why="success judged at the last position only", says=("not only the last",),
           never=("an episode ends at its first event",)),
    mutant("outcome_touching_rim_collides", DP,
           "hit = (trajectories - obstacle[:, None]).norm(dim=-1) < radius",
           "hit = (trajectories - obstacle[:, None]).norm(dim=-1) <= radius", {P + "outcome.cases"},
           why="touching the rim counted as a collision", says=("strictly below the radius",),
           never=("an episode ends at its first event", "not only the last")),
    mutant("outcome_squared_distance", DP,
           "hit = (trajectories - obstacle[:, None]).norm(dim=-1) < radius",
           "hit = ((trajectories - obstacle[:, None]) ** 2).sum(dim=-1) < radius", OUTCOME,
           why="squared distance compared with the radius", says=("not the squared distance",),
           never=("not only the last",)),
    mutant("outcome_tie_is_success", DP, SUCCESS_LINE + "\n    " + COLLIDED_LINE,
           "success = (first_reach < never) & (first_reach <= first_hit)\n"
           "    collided = (first_hit < never) & (first_hit < first_reach)",
           {P + "outcome.cases"}, why="reaching the goal inside the obstacle counted as a success",
           says=("the obstacle wins a tie",), never=("an episode ends at its first event",)),
    mutant("outcome_collision_any_time", DP, COLLIDED_LINE, "collided = first_hit < never", {P + "outcome.cases"},
           why="a collision after arriving still counted", says=("an episode ends at its first event",),
           never=("strictly below the radius",)),
]

VARIANTS: list[Variant] = [
    variant("film_unsqueeze_addcmul", DP, FILM_LINE,
            "h = torch.addcmul(beta.unsqueeze(-1), h, 1 + gamma.unsqueeze(-1))",
            why="addcmul and unsqueeze instead of indexing"),
    variant("film_slicing", DP, "gamma, beta = self.film(cond).chunk(2, dim=1)",
            "film = self.film(cond)\n        gamma, beta = film[:, :film.shape[1] // 2], film[:, film.shape[1] // 2:]",
            why="slicing instead of chunk"),
    variant("pairs_python_loops", DP, CHUNKS_LINE,
            "chunks = torch.stack([padded[i, k:k + horizon] for i in range(n) for k in range(steps)])",
            why="a loop over demonstrations and times instead of unfold"),
    variant("rollout_nested_loops", DP, "    position = scenes.start.clone()\n    visited = [position]\n"
            "    for step in range(num_steps):\n"
            "        if step % execute_steps == 0:\n"
            "            # 1. plan a chunk of H actions from what the agent sees now\n"
            "            chunk = policy(push_task.observe(position, scenes))\n"
            "            if chunk.shape[1] < execute_steps:\n"
            "                raise ValueError(f\"chunks of {chunk.shape[1]} actions cannot execute {execute_steps}\")\n"
            "        # 2. execute its next action: only the first execute_steps are used (receding horizon)\n"
            "        position = position + chunk[:, step % execute_steps]\n"
            "        visited.append(position)\n",
            "    position = scenes.start.clone()\n    visited = [position]\n"
            "    for begin in range(0, num_steps, execute_steps):\n"
            "        chunk = policy(push_task.observe(position, scenes))\n"
            "        if chunk.shape[1] < execute_steps:\n"
            "            raise ValueError(\"chunk too short\")\n"
            "        for action in chunk[:, :min(execute_steps, num_steps - begin)].unbind(dim=1):\n"
            "            position = position + action\n"
            "            visited.append(position)\n",
            why="an outer loop over chunks and an inner loop over their actions"),
    variant("outcome_squared_with_squared_radius", DP,
            "hit = (trajectories - obstacle[:, None]).norm(dim=-1) < radius",
            "hit = ((trajectories - obstacle[:, None]) ** 2).sum(dim=-1) < radius ** 2",
            why="squared distances against the squared radius"),
    variant("outcome_cummax", DP, SUCCESS_LINE + "\n    " + COLLIDED_LINE,
            "hit_before = torch.cummax(hit.int(), dim=1).values.bool()\n"
            "    success = (reached & ~hit_before).any(dim=1)\n"
            "    reached_before = torch.cat([torch.zeros_like(reached[:, :1]), reached[:, :-1]], dim=1)\n"
            "    reached_before = torch.cummax(reached_before.int(), dim=1).values.bool()\n"
            "    collided = (hit & ~reached_before).any(dim=1)",
            why="running maxima instead of first indices"),
]
