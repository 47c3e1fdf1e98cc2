"""Customer CSV import pages: upload with the recent jobs, and a job page whose progress bar htmx polls."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from retention.actors import Actor
from retention.models import CustomerImport
from retention.roles import MARKETING, role_required
from retention.services.imports import COLUMNS, ImportRejected, create_customer_import

MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # about a million rows


class CustomerImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, comma-separated, the first line names the columns.")

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB.")
        try:
            # utf-8-sig drops the byte-order mark that spreadsheet programs put in front.
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text. Save it as “CSV UTF-8”.")


@role_required(MARKETING)
def customer_import(request):
    form = CustomerImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = create_customer_import(
                file_name=request.FILES["file"].name,
                content=form.cleaned_data["file"],
                actor=Actor.for_user(request.user),
            )
        except ImportRejected as error:
            form.add_error("file", error.message)
        else:
            messages.success(request, f"{job.file_name}: {job.total_rows} rows queued for import.")
            return redirect("customers:import_detail", pk=job.pk)
    recent = CustomerImport.objects.select_related("created_by").defer("content", "errors")[:20]
    context = {"form": form, "imports": recent, "columns": COLUMNS, "nav": "customers"}
    return render(request, "retention/customer_import.html", context, status=400 if form.errors else 200)


@role_required(MARKETING)
def customer_import_detail(request, pk: int):
    job = get_object_or_404(CustomerImport.objects.select_related("created_by").defer("content"), pk=pk)
    context = {"job": job, "nav": "customers"}
    if request.htmx:
        return render(request, "retention/customer_import_detail.html#progress", context)
    return render(request, "retention/customer_import_detail.html", context)
