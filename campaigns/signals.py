"""What happened in campaigns, sent after the writing transaction commits (webhooks listen here).

Other campaign signals are added beside these by the services that send them.
"""

from django.dispatch import Signal

# redemption: Redemption
code_redeemed = Signal()
# redemption: Redemption
redemption_rolled_back = Signal()
# campaign: Campaign, actor: Actor (sent by campaigns.services.campaigns; webhooks campaign.paused/resumed hook here)
campaign_paused = Signal()
campaign_resumed = Signal()
# code: Code (sent by campaigns.services.codes.issue_code; webhook code.issued hooks here)
code_issued = Signal()
