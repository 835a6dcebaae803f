"""Drives agentd's AgentOS API with Agno's unmodified AgentOSClient (agno 3.1).

Usage: python agno_client.py BASE_URL AGENT TEAM API_KEY
  BASE_URL  e.g. http://127.0.0.1:7777
  AGENT     an agent on agentd's builtin model (echoes "You said: ...")
  TEAM      a team of agentd's
  API_KEY   the bearer key agentd wants

Prints one "ok <step>" line per passed step and exits non-zero on the first
failure (an exception or a failed check), so the calling test can fail.
"""

import asyncio
import sys

from agno.client import AgentOSClient


def check(cond, what):
    if not cond:
        raise AssertionError(what)


async def main(base, agent, team, key):
    client = AgentOSClient(base_url=base)
    auth = {"Authorization": f"Bearer {key}"}

    config = await client.aget_config(headers=auth)
    check(config.os_id, f"os id: {config}")
    check([a.id for a in config.agents][:1] == [agent], f"agents: {config.agents}")
    check(team in [t.id for t in config.teams], f"teams: {config.teams}")
    check(config.databases and config.agents[0].db_id in config.databases, f"databases: {config}")
    check({i.type for i in config.interfaces} >= {"agui", "a2a", "mcp"}, f"interfaces: {config.interfaces}")
    check(config.available_models, f"models: {config.available_models}")
    print("ok config", flush=True)

    agents = await client.list_agents(headers=auth)
    check(agent in [a.id for a in agents], f"list agents: {agents}")
    detail = await client.aget_agent(agent, headers=auth)
    check(detail.id == agent, f"get agent: {detail}")
    teams = await client.list_teams(headers=auth)
    check(team in [t.id for t in teams], f"list teams: {teams}")
    workflows = await client.list_workflows(headers=auth)
    check(workflows == [], f"agentd runs no workflows: {workflows}")
    print("ok discovery", flush=True)

    run = await client.run_agent(agent, "my name is Ada", headers=auth)
    check(run.content == "You said: my name is Ada", f"run: {run.content}")
    again = await client.run_agent(agent, "what is my name?", session_id=run.session_id, headers=auth)
    check("my name is Ada" in (again.content or ""), f"continued: {again.content}")
    print("ok run and session", flush=True)

    events = [e async for e in client.run_agent_stream(agent, "stream please", headers=auth)]
    kinds = [e.event for e in events]
    check(kinds[0] == "RunStarted" and kinds[-1] == "RunCompleted", f"stream: {kinds}")
    print("ok stream", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
