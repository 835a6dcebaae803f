"""The unmodified codegen-api-client 1.0.0 (the OpenAPI-generated client the
`codegen` SDK's Agent wraps) against agentd.

Usage: codegen_client.py BASE_URL TOKEN ORG_ID OTHER_ORG_ID

Creates an agent run, polls it to COMPLETE the way Agent/AgentTask do
(authorization "Bearer <token>" on every call), then uses the organizations
and users APIs and checks the error classes the client raises. Prints one
"ok ..." line per step; any failure raises and exits non-zero.
"""

import sys
import time

from codegen_api_client import ApiClient, Configuration
from codegen_api_client.api.agents_api import AgentsApi
from codegen_api_client.api.organizations_api import OrganizationsApi
from codegen_api_client.api.users_api import UsersApi
from codegen_api_client.exceptions import (
    ForbiddenException,
    NotFoundException,
    UnauthorizedException,
)
from codegen_api_client.models.create_agent_run_input import CreateAgentRunInput

TERMINAL = {"COMPLETE", "FAILED", "ERROR", "CANCELLED", "STOPPED", "TIMEOUT"}


def main() -> None:
    base, token, org_id, other_org = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    auth = f"Bearer {token}"
    client = ApiClient(Configuration(host=base, access_token=token))
    agents = AgentsApi(client)

    run = agents.create_agent_run_v1_organizations_org_id_agent_run_post(
        org_id=org_id,
        create_agent_run_input=CreateAgentRunInput(prompt="hello from the codegen client"),
        authorization=auth,
    )
    assert isinstance(run.id, int), run
    assert run.organization_id == org_id, run
    assert run.status in ("PENDING", "RUNNING", "COMPLETE"), run.status
    assert run.web_url and run.web_url.startswith("http"), run.web_url
    print(f"ok create run {run.id} status {run.status}")

    deadline = time.monotonic() + 30
    while True:
        run = agents.get_agent_run_v1_organizations_org_id_agent_run_agent_run_id_get(
            agent_run_id=run.id, org_id=org_id, authorization=auth
        )
        if run.status in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run.id} still {run.status} after 30 s")
        time.sleep(0.05)
    assert run.status == "COMPLETE", run
    assert run.result == "You said: hello from the codegen client", run.result
    print(f"ok poll to COMPLETE result {run.result!r}")

    orgs = OrganizationsApi(client).get_organizations_v1_organizations_get(
        authorization=auth
    )
    assert org_id in [o.id for o in orgs.items], orgs
    assert orgs.items[0].settings.enable_pr_creation is True, orgs
    print(f"ok organizations {[o.id for o in orgs.items]}")

    users = UsersApi(client)
    page = users.get_users_v1_organizations_org_id_users_get(
        org_id=str(org_id), authorization=auth
    )
    assert page.total >= 1 and page.items[0].github_username, page
    me = users.get_user_v1_organizations_org_id_users_user_id_get(
        org_id=str(org_id), user_id=str(page.items[0].id), authorization=auth
    )
    assert me.id == page.items[0].id, me
    print(f"ok users {[u.id for u in page.items]}")

    try:
        agents.get_agent_run_v1_organizations_org_id_agent_run_agent_run_id_get(
            agent_run_id=999999, org_id=org_id, authorization=auth
        )
        raise SystemExit("an unknown run was found")
    except NotFoundException as e:
        assert e.status == 404
    try:
        agents.get_agent_run_v1_organizations_org_id_agent_run_agent_run_id_get(
            agent_run_id=run.id, org_id=org_id, authorization="Bearer wrong"
        )
        raise SystemExit("a wrong token was accepted")
    except UnauthorizedException as e:
        assert e.status == 401
    try:
        agents.create_agent_run_v1_organizations_org_id_agent_run_post(
            org_id=other_org,
            create_agent_run_input=CreateAgentRunInput(prompt="not mine"),
            authorization=auth,
        )
        raise SystemExit("a non-member created a run")
    except ForbiddenException as e:
        assert e.status == 403
    print("ok errors 404 401 403")


if __name__ == "__main__":
    main()
