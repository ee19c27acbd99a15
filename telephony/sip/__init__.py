"""SIP for phone calls: offer/answer and admission (sans-IO), and the endpoint on aiosipua."""
